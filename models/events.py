"""The append-only event log: everything a platform tells us a learner did."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import BigId, Moment, byte_key, db, utcnow

EVENT_KINDS = ("activity", "module_completed", "assessment", "grade", "attendance", "heartbeat")
HEARTBEAT_KIND = "heartbeat"  # a session heartbeat (POST track/): extends a learning session, is not activity
# What learning sessions are made of (services.sessions, services.presence): what learners do, not what the school
# records about them (grades, attendance).
SESSION_KINDS = ("activity", "module_completed", "assessment", HEARTBEAT_KIND)
ATTENDANCE_STATUSES = ("present", "absent", "late", "excused")
# The fields an event may carry besides its id, learner, kind and time; every list of event fields (the
# insert, the live view, the REST and CSV views) is built from these two, in this order.
EVENT_REFERENCE_FIELDS = ("course", "module", "section", "subject", "exam")  # external ids, stored as <name>_id
# PostgreSQL keeps client ids unique by their MD5 digest as a uuid: 16 bytes a key where the 32-character ids an LMS
# sends took 33, so the one index whose size follows the log's length is half as large (migration 0022). Its
# expression is also the ON CONFLICT target and the key every look-up by client id must name to use the index.
CLIENT_KEY = "(md5(client_id)::uuid)"
CLIENT_KEY_INDEX = "uq_events_client_key"
EVENT_VALUE_FIELDS = ("skill", "score", "max_score", "duration_seconds", "marks", "date", "status")  # stored as sent


class Event(db.Model):
    """One learner event. Rows are never updated or deleted by the application."""

    __tablename__ = "events"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN {EVENT_KINDS}", name="kind_known"),
        sa.Index("ix_events_learner_occurred", "learner_id", "occurred_at"),
        sa.Index("ix_events_learner_id", "learner_id", "id"),  # a learner's newest events (migration 0017)
        # Client ids are unique by their 16-byte digest on PostgreSQL (migration 0022), by themselves on SQLite.
        sa.Index(CLIENT_KEY_INDEX, sa.text(CLIENT_KEY), unique=True).ddl_if(dialect="postgresql"),
        sa.UniqueConstraint("client_id", name="uq_events_client_id").ddl_if(dialect="sqlite"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[str | None] = mapped_column(byte_key(128))
    body_hash: Mapped[str] = mapped_column(sa.String(64))
    # The references are plain ids, kept by delete triggers on the tables they name (migration 0021): a learner's
    # events go with the learner, a deleted course's (module's, ...) keep the event with the reference cleared.
    # Foreign keys did the same but checked and locked each parent for every inserted row (a third of a batch's
    # PostgreSQL CPU); every id stored here comes from a look-up in the inserting transaction.
    learner_id: Mapped[int] = mapped_column(sa.Integer)
    kind: Mapped[str] = mapped_column(sa.String(24))
    occurred_at: Mapped[datetime] = mapped_column(Moment)
    received_at: Mapped[datetime] = mapped_column(Moment, default=utcnow)
    course_id: Mapped[int | None] = mapped_column(sa.Integer)
    module_id: Mapped[int | None] = mapped_column(sa.Integer)
    section_id: Mapped[int | None] = mapped_column(sa.Integer)
    subject_id: Mapped[int | None] = mapped_column(sa.Integer)
    exam_id: Mapped[int | None] = mapped_column(sa.Integer)
    skill: Mapped[str | None] = mapped_column(sa.String(128))
    score: Mapped[float | None]
    max_score: Mapped[float | None]
    duration_seconds: Mapped[float | None]
    marks: Mapped[float | None]
    date: Mapped[date | None]
    status: Mapped[str | None] = mapped_column(sa.String(16))
