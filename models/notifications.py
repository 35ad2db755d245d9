"""Notifications out: webhook endpoints and their deliveries, and learners' guardian contacts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import BigId, Moment, Timestamps, db, utcnow

WEBHOOK_EVENTS = ("alert", "alert_resolved", "achievement", "grade_update", "attendance_update", "exam_created")
DELIVERY_STATUSES = ("pending", "delivered", "failed")
EMAIL_DELIVERIES = ("immediately", "daily", "weekly", "never")
GUARDIAN_DIGESTS = ("daily", "weekly", "never")


class WebhookEndpoint(Timestamps, db.Model):
    """A URL that receives signed messages of the chosen events about learners its owner may see,
    narrowed to one section or course when scoped."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    description: Mapped[str | None] = mapped_column(sa.String(200))
    events: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    section_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sections.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    secret: Mapped[str] = mapped_column(sa.String(128))  # kept readable: every delivery is signed with it
    enabled: Mapped[bool] = mapped_column(default=True, index=True)
    disabled_reason: Mapped[str | None] = mapped_column(sa.Text)
    disabled_at: Mapped[datetime | None] = mapped_column(Moment)
    consecutive_failures: Mapped[int] = mapped_column(default=0)


class WebhookDelivery(db.Model):
    """One message for one endpoint: its fixed body (each attempt signs it afresh) and how sending went."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (sa.CheckConstraint(f"status IN {DELIVERY_STATUSES}", name="status_known"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(sa.String(32))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    response_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(Moment)
    last_attempt_at: Mapped[datetime | None] = mapped_column(Moment)
    delivered_at: Mapped[datetime | None] = mapped_column(Moment)
    created_at: Mapped[datetime] = mapped_column(Moment, default=utcnow)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.event,
            "status": self.status,
            "attempts": self.attempts,
            "response_status": self.response_status,
            "last_error": self.last_error,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
            "last_attempt_at": self.last_attempt_at.isoformat() if self.last_attempt_at else None,
            "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None,
            "created_at": self.created_at.isoformat(),
        }


class GuardianContact(Timestamps, db.Model):
    """Someone (a parent, a carer) who receives one learner's digest by email and nothing else."""

    __tablename__ = "guardian_contacts"
    __table_args__ = (
        sa.UniqueConstraint("learner_id", "email"),
        sa.CheckConstraint(f"digest IN {GUARDIAN_DIGESTS}", name="digest_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254))
    digest: Mapped[str] = mapped_column(sa.String(8), default="weekly")
