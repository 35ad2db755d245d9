"""The audit log: who did what security-relevant thing to what, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import BigId, Moment, db, utcnow

AUDIT_ACTIONS = (
    "token.minted",
    "token.revoked",
    "user.created",
    "user.role_changed",
    "user.deactivated",
    "user.reactivated",
    "threshold.set",
    "threshold.removed",
    "alert.acknowledged",
    "alert.feedback",
    "export.downloaded",
    "webhook.created",
    "webhook.changed",
    "webhook.deleted",
    "webhook.secret_rotated",
    "guardians.set",
)


class AuditEntry(db.Model):
    """One security-relevant action. The actor is kept by external id too, so the entry outlives the user."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_action_id", "action", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(Moment, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(sa.String(128))  # external id (or "cli" for commands run on the host)
    action: Mapped[str] = mapped_column(sa.String(32))
    target: Mapped[str] = mapped_column(sa.String(200))  # e.g. "user:amy", "alert:12", "section:s1"
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
