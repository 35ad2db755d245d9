"""Per-learner running counters and point-in-time metric snapshots."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import BigId, Moment, db, utcnow


class LearnerCounters(db.Model):
    """Running aggregates kept up to date by the evaluation task, so reads never scan the event log."""

    __tablename__ = "learner_counters"

    learner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    events_seen: Mapped[int] = mapped_column(default=0)
    last_event_id: Mapped[int] = mapped_column(BigId, default=0)
    activity_count: Mapped[int] = mapped_column(default=0)
    modules_completed: Mapped[int] = mapped_column(default=0)
    assessment_count: Mapped[int] = mapped_column(default=0)
    score_ratio_sum: Mapped[float] = mapped_column(default=0.0)
    grade_count: Mapped[int] = mapped_column(default=0)
    attendance_count: Mapped[int] = mapped_column(default=0)  # countable days (analytics.school: not excused)
    attendance_present: Mapped[int] = mapped_column(default=0)
    time_spent_seconds: Mapped[float] = mapped_column(default=0.0)
    last_activity_at: Mapped[datetime | None] = mapped_column(Moment)
    last_progress_at: Mapped[datetime | None] = mapped_column(Moment)
    last_evaluated_at: Mapped[datetime | None] = mapped_column(Moment)


class MetricSnapshot(db.Model):
    """A learner's metrics at one moment, for history and trend charts."""

    __tablename__ = "metric_snapshots"
    __table_args__ = (sa.Index("ix_metric_snapshots_learner_taken", "learner_id", "taken_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    learner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column(Moment, default=utcnow)
    metrics: Mapped[dict[str, Any]] = mapped_column(sa.JSON)


class CohortSnapshot(db.Model):
    """A section's cohort aggregates on one day (stored by the daily analytics task)."""

    __tablename__ = "cohort_snapshots"
    __table_args__ = (sa.Index("ix_cohort_snapshots_section_taken", "section_id", "taken_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    section_id: Mapped[int] = mapped_column(sa.ForeignKey("sections.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column(Moment, default=utcnow)
    summary: Mapped[dict[str, Any]] = mapped_column(sa.JSON)


STANDING_SORT_COLUMNS = (
    "average",
    "recent_average",
    "trend_direction",
    "engagement",
    "attendance_percent",
    "risk_level",
    "risk_probability",
    "open_alerts",
)


class LearnerStanding(db.Model):
    """One row per learner with the roster's figures, written by the worker after each evaluation,
    so rosters and exports read rows instead of recomputing metrics per request."""

    __tablename__ = "learner_standings"
    __table_args__ = tuple(
        sa.Index(f"ix_learner_standings_{column}", column, "learner_id") for column in STANDING_SORT_COLUMNS
    )

    learner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    average: Mapped[float | None]
    recent_average: Mapped[float | None]
    trend_direction: Mapped[int | None] = mapped_column(sa.SmallInteger)  # -1 declining, 0 stable, 1 improving
    engagement: Mapped[float | None]
    attendance_percent: Mapped[float | None]
    risk_level: Mapped[int | None] = mapped_column(sa.SmallInteger)  # 0 green, 1 amber, 2 red; None grey
    risk_probability: Mapped[float | None]
    open_alerts: Mapped[int] = mapped_column(default=0, server_default="0")
    open_alert_rules: Mapped[str] = mapped_column(sa.String(1000), default="", server_default="")
    metrics_at: Mapped[datetime | None] = mapped_column(Moment)  # when the figures were computed
    updated_at: Mapped[datetime] = mapped_column(Moment, default=utcnow)


class SectionSummary(db.Model):
    """A section's latest cohort summary, refreshed by the worker after evaluations (throttled), so a
    dashboard's first screen reads one row per section instead of recomputing the cohort."""

    __tablename__ = "section_summaries"

    section_id: Mapped[int] = mapped_column(sa.ForeignKey("sections.id", ondelete="CASCADE"), primary_key=True)
    summary: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    # per-learner figures the cohort endpoints aggregate (services.cohort_members); null until refreshed
    members: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(Moment, default=utcnow)


class ExamSummary(db.Model):
    """An exam's graded learners' cohort figures over all their courses (services.cohort_members), refreshed by
    the worker like the section summaries, so GET /exams/<id>/analytics aggregates rows."""

    __tablename__ = "exam_summaries"

    exam_id: Mapped[int] = mapped_column(sa.ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True)
    members: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(Moment, default=utcnow)
