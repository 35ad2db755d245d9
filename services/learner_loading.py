"""One learner's events and metrics, read once per request: from the learner's digest when it covers the
learner's newest event (a few small rows, whatever the history's length), else from the event log.

A digest (services.digests, refreshed by every evaluation) keeps every score and the recent weeks of
activity, which give the metrics, trend, forecast and activity counts the whole log gives; its report
figures (analytics.report_digest) give the rest of the learner report. tests/test_report_digests.py
checks that both ways return the same report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
import sqlalchemy as sa

from analytics.event_digest import RECORD, from_records, with_streaks
from analytics.grouping import SECONDS_PER_DAY
from analytics.learner_metrics import EventArrays, LearnerMetrics, compute_learner_metrics, learner_metrics_and_trends
from analytics.report_digest import ReportDigest, read_report_digest
from analytics.scores import ScoreTrends
from models import HEARTBEAT_KIND, Event, LearnerDigest, db
from services.analytics_data import load_attendance_percent, load_event_arrays
from services.digests import TRUSTED_BEFORE_DAYS


class Learner(Protocol):
    """Who a report is about: a User entity, or the plain users row a dashboard open read."""

    @property
    def id(self) -> int: ...

    @property
    def external_id(self) -> str: ...

    @property
    def name(self) -> str | None: ...


@dataclass(frozen=True)
class LoadedLearner:
    """One learner's events (index 0) and current metrics, loaded once per request and shared by its views."""

    now: float
    events: EventArrays
    module: np.ndarray  # module id per event, -1 without
    metrics: LearnerMetrics
    whole: ReportDigest | None = None  # set when `events` are a digest's kept events: what they lack
    trends: ScoreTrends | None = None  # set by loaded_from: the score trends `metrics` fitted (default threshold)


def load_learner(learner: Learner, now: float | None = None) -> LoadedLearner:
    """Read the learner's events and attendance and compute their metrics as of now (epoch seconds)."""
    now = datetime.now(UTC).timestamp() if now is None else now
    events, module = load_event_arrays([learner.id])
    return loaded_from(now, events, module, load_attendance_percent([learner.id]))


def loaded_from(now: float, events: EventArrays, module: np.ndarray, attendance: np.ndarray) -> LoadedLearner:
    """As load_learner, from the learner's events, their modules and attendance percent as the caller read them."""
    metrics, trends = learner_metrics_and_trends(events, now, attendance)
    return LoadedLearner(now, events, module, metrics, trends=trends)


# built once per process (statement construction and its cache key cost more than the look-up)
DIGEST_ROW = sa.select(
    LearnerDigest.last_event_id,
    LearnerDigest.built_at,
    LearnerDigest.longest_streak,
    LearnerDigest.last_run,
    LearnerDigest.events,
    LearnerDigest.report,
    sa.select(sa.func.max(Event.id))
    .where(Event.learner_id == sa.bindparam("learner"), Event.kind != HEARTBEAT_KIND)
    .scalar_subquery()
    .label("newest"),
).where(LearnerDigest.learner_id == sa.bindparam("learner"))


def _digest_row(learner_id: int) -> sa.Row | None:
    """The learner's digest and, in the same statement, the id of their newest event (index ix_events_learner_id)."""
    return db.session.execute(DIGEST_ROW, {"learner": learner_id}).first()


def load_learner_digest(learner: Learner, now: float | None = None) -> LoadedLearner | None:
    """As load_learner, from the learner's digest; None when it cannot serve (missing, built before its report
    figures existed, older than the learner's newest event, or built too far after now)."""
    row = _digest_row(learner.id)
    now = datetime.now(UTC).timestamp() if now is None else now
    if row is None or row.report is None or (row.newest or 0) > row.last_event_id:
        return None
    whole = read_report_digest(row.report)
    if whole is None or row.built_at.timestamp() > now + TRUSTED_BEFORE_DAYS * SECONDS_PER_DAY:
        return None
    records = np.frombuffer(row.events, RECORD)
    events = from_records(records, np.array([len(records)], dtype=np.int64))
    metrics = compute_learner_metrics(events, now, load_attendance_percent([learner.id]))
    metrics = with_streaks(metrics, events, np.array([row.longest_streak]), np.array([row.last_run]), now)
    module = np.full(len(records), -1, dtype=np.int64)  # modules come from the report figures
    return LoadedLearner(now, events, module, metrics, whole)
