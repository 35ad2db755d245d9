"""Fitted models: risk model versions, per-skill BKT parameters, and per-learner skill mastery."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Moment, db, utcnow


class RiskModelVersion(db.Model):
    """One trained (or cold-start) risk model with its held-out quality; the newest is used."""

    __tablename__ = "risk_model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # "trained" or "cold_start"
    trained_at: Mapped[datetime] = mapped_column(Moment, default=utcnow, index=True)
    model: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # analytics.risk.RiskModel.to_dict()
    quality: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    samples: Mapped[int] = mapped_column(default=0)
    positives: Mapped[int] = mapped_column(default=0)


class SkillModel(db.Model):
    """BKT parameters of one skill, fitted by EM on the platform's history."""

    __tablename__ = "skill_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    skill: Mapped[str] = mapped_column(sa.String(128), unique=True)
    p_init: Mapped[float]
    p_learn: Mapped[float]
    p_guess: Mapped[float]
    p_slip: Mapped[float]
    log_likelihood: Mapped[float | None]
    sequences: Mapped[int] = mapped_column(default=0)
    fitted_at: Mapped[datetime] = mapped_column(Moment, default=utcnow)


class SkillMastery(db.Model):
    """A learner's current probability of mastering a skill, advanced one assessment at a time."""

    __tablename__ = "skill_mastery"
    # the unique index leads with learner_id, so it also serves a learner's rows (no index of its own: 0018);
    # PostgreSQL: fillfactor 45 (migration 0019), so rewriting a row leaves the indexes alone (heap-only updates)
    __table_args__ = (sa.UniqueConstraint("learner_id", "skill"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    skill: Mapped[str] = mapped_column(sa.String(128))
    p_mastery: Mapped[float]
    attempts: Mapped[int] = mapped_column(default=0)
    correct: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(Moment, default=utcnow, onupdate=utcnow)
