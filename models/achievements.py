"""Achievements: milestones a learner reaches once (a streak of 30 days, a course completed), kept forever."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Moment, db, utcnow


class Achievement(db.Model):
    """One per learner, kind and key (the unique constraint is what makes each one sent once)."""

    __tablename__ = "achievements"
    __table_args__ = (
        sa.UniqueConstraint("learner_id", "kind", "key"),
        sa.Index("ix_achievements_achieved_at", "achieved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    key: Mapped[str] = mapped_column(sa.String(64))  # which one of its kind: "30" (days), a module's id, ...
    title: Mapped[str] = mapped_column(sa.String(200))
    value: Mapped[float | None]  # the streak's days, the score in percent, ...
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    achieved_at: Mapped[datetime] = mapped_column(Moment)  # when the learner reached it (an event's time)
    created_at: Mapped[datetime] = mapped_column(Moment, default=utcnow)  # when LearnPulse noticed it
