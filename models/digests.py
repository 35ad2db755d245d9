"""Per-learner event digests: what the periodic sweeps read instead of the event log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import BigId, Moment, db


class LearnerDigest(db.Model):
    """A learner's events cut down by analytics.event_digest, refreshed each time the learner is evaluated."""

    __tablename__ = "learner_digests"

    learner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigId, default=0)  # the newest event the digest was built from
    built_at: Mapped[datetime] = mapped_column(Moment)  # the instant its time window was cut at
    longest_streak: Mapped[int] = mapped_column(default=0)
    last_run: Mapped[int] = mapped_column(default=0)
    modules_left: Mapped[float | None] = mapped_column(sa.Float)  # in the learner's courses when built; None: unknown
    events: Mapped[bytes] = mapped_column(sa.LargeBinary)  # packed analytics.event_digest.RECORD rows
    # analytics.report_digest, packed: what the learner report needs beyond the kept events; None: built before 0017
    report: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
