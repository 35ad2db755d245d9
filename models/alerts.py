"""Alerts raised about learners, their state history, and threshold overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Moment, Timestamps, db, utcnow

ALERT_STATUSES = ("open", "acknowledged", "resolved")
SEVERITIES = ("low", "medium", "high")
SCOPE_TYPES = ("global", "course", "section", "learner")
FEEDBACK_VERDICTS = ("useful", "not_useful", "false_alarm")


class Alert(Timestamps, db.Model):
    """At most one unresolved alert per learner, rule and scope (enforced by a partial unique index)."""

    __tablename__ = "alerts"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {ALERT_STATUSES}", name="status_known"),
        sa.CheckConstraint(f"severity IN {SEVERITIES}", name="severity_known"),
        sa.Index(
            "uq_alerts_one_unresolved",
            "learner_id",
            "rule",
            "scope_key",
            unique=True,
            postgresql_where=sa.text("status <> 'resolved'"),
            sqlite_where=sa.text("status <> 'resolved'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(sa.String(64))
    scope_key: Mapped[str] = mapped_column(sa.String(64), default="global")
    severity: Mapped[str] = mapped_column(sa.String(8))
    status: Mapped[str] = mapped_column(sa.String(16), default="open", index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    message: Mapped[str] = mapped_column(sa.Text)
    factors: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    recommendations: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    acknowledged_at: Mapped[datetime | None] = mapped_column(Moment)
    resolved_at: Mapped[datetime | None] = mapped_column(Moment)


class AlertHistory(db.Model):
    """Every state change of an alert, with who made it and when."""

    __tablename__ = "alert_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(sa.ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str] = mapped_column(sa.String(16))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(Moment, default=utcnow)


class AlertFeedback(Timestamps, db.Model):
    """An educator's or admin's verdict on an alert (one per person and alert; giving it again replaces it)."""

    __tablename__ = "alert_feedback"
    __table_args__ = (
        sa.UniqueConstraint("alert_id", "user_id"),
        sa.CheckConstraint(f"verdict IN {FEEDBACK_VERDICTS}", name="verdict_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(sa.ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    verdict: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str | None] = mapped_column(sa.Text)


class ThresholdOverride(Timestamps, db.Model):
    """A rule parameter overridden for a course, section or learner (or globally)."""

    __tablename__ = "threshold_overrides"
    __table_args__ = (
        sa.UniqueConstraint("rule", "parameter", "scope_type", "scope_id"),
        sa.CheckConstraint(f"scope_type IN {SCOPE_TYPES}", name="scope_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(sa.String(64))
    parameter: Mapped[str] = mapped_column(sa.String(64))
    scope_type: Mapped[str] = mapped_column(sa.String(16))
    scope_id: Mapped[int] = mapped_column(default=0)
    value: Mapped[float]


class NotificationPreference(Timestamps, db.Model):
    """What a user wants to be notified about: alert types (None = all), minimum severity, muted, and
    how alerts reach them by email (models.notifications.EMAIL_DELIVERIES)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    types: Mapped[list[str] | None] = mapped_column(sa.JSON)
    min_severity: Mapped[str] = mapped_column(sa.String(8), default="low")
    muted: Mapped[bool] = mapped_column(default=False)
    email_delivery: Mapped[str] = mapped_column(sa.String(16), default="daily", server_default="daily")
