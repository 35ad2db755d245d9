"""xAPI: the statements LearnPulse stores as a Learning Record Store, and the Basic credentials LRS clients use."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import BigId, Moment, byte_key, db, utcnow


class XapiStatement(db.Model):
    """One stored statement, exactly as it will be returned, plus the columns its filters use.

    Rows are never updated: a statement is voided by another statement whose `voids` names it.
    """

    __tablename__ = "xapi_statements"
    __table_args__ = (
        # the unmapped ones are few: an operator lists them (and why) through this partial index
        sa.Index(
            "ix_xapi_statements_unmapped",
            "id",
            postgresql_where=sa.text("unmapped_reason IS NOT NULL"),
            sqlite_where=sa.text("unmapped_reason IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)  # the stored order
    statement_id: Mapped[str] = mapped_column(byte_key(36), unique=True)
    body: Mapped[str] = mapped_column(sa.Text)  # the statement as stored (JSON), with stored/authority/version
    body_hash: Mapped[str] = mapped_column(sa.String(64))  # of its comparable form (xAPI statement comparison)
    stored: Mapped[datetime] = mapped_column(Moment, default=utcnow, index=True)
    actor_ifi: Mapped[str | None] = mapped_column(sa.String(800), index=True)
    object_ifi: Mapped[str | None] = mapped_column(sa.String(800), index=True)  # when the object is an Agent/Group
    verb_id: Mapped[str] = mapped_column(sa.String(512), index=True)
    activity_id: Mapped[str | None] = mapped_column(sa.String(512), index=True)  # when the object is an Activity
    registration: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    voids: Mapped[str | None] = mapped_column(byte_key(36), index=True)  # the target, on a voiding statement
    event_kind: Mapped[str | None] = mapped_column(sa.String(24))  # the LearnPulse event it produced
    unmapped_reason: Mapped[str | None] = mapped_column(sa.String(300))  # why it produced none


class XapiCredential(db.Model):
    """An HTTP Basic key/secret pair for an LRS client; the secret is kept only as a SHA-256 digest."""

    __tablename__ = "xapi_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(Moment, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(Moment)
