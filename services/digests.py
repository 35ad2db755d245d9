"""Learner digests in the database: written when learners are evaluated, read by the periodic sweeps.

A sweep reads one digest row per learner instead of the event log (analytics.event_digest). A digest
is rebuilt from the log only when it cannot be trusted: missing, built long after the sweep's
instant, or older than an event that arrived since the previous sweep started (an
evaluation that was lost: the event path normally rebuilds it within seconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from analytics.alert_rules import RuleInputs
from analytics.event_digest import DIGEST_DAYS, build_digests, unpack, with_streaks
from analytics.grouping import SECONDS_PER_DAY
from analytics.learner_metrics import EventArrays
from models import Event, LearnerCounters, LearnerDigest, db
from models.upsert import chunks_in, dialect_insert, select_where_in
from services.analytics_data import load_event_arrays
from services.clients import redis_client
from services.monitoring import build_inputs, store_snapshots

UPTO_KEY = "learnpulse:digests:upto"  # the newest event id when the last sweep started
TRUSTED_BEFORE_DAYS = DIGEST_DAYS - 30  # a digest serves instants from this long before it was built on


def store_digests(ids: Sequence[int], events: EventArrays, last_event_ids: dict[int, int], built_at: float) -> None:
    """Write the digests of these learners (sorted, as in `events`); an older build never overwrites a newer one."""
    if not ids:
        return
    digests = build_digests(events, built_at)
    moment = datetime.fromtimestamp(built_at, UTC)
    rows = [
        {
            "learner_id": learner,
            "last_event_id": int(last_event_ids.get(learner, 0)),
            "built_at": moment,
            "longest_streak": int(digests.longest_streak[i]),
            "last_run": int(digests.last_run[i]),
            "events": digests.blobs[i],
        }
        for i, learner in enumerate(ids)
    ]
    stmt = dialect_insert(LearnerDigest)
    columns = ("last_event_id", "built_at", "longest_streak", "last_run", "events")
    table = LearnerDigest.__table__
    stmt = stmt.on_conflict_do_update(
        index_elements=["learner_id"],
        set_={c: getattr(stmt.excluded, c) for c in columns},
        where=table.c.last_event_id <= stmt.excluded.last_event_id,
    )
    db.session.execute(stmt, rows)
    db.session.commit()


def counter_event_ids(ids: Sequence[int]) -> dict[int, int]:
    """The newest event id each learner's counters were just refreshed with (the evaluation path)."""
    return dict(
        select_where_in([LearnerCounters.learner_id, LearnerCounters.last_event_id], LearnerCounters.learner_id, ids)
    )


def _newest_event_ids(ids: Sequence[int], since: int = 0) -> dict[int, int]:
    """Each learner's newest event id above `since` (learners without such events are absent)."""
    low, high = min(ids), max(ids)
    query = (
        sa.select(Event.learner_id, sa.func.max(Event.id))
        .where(Event.id > since, Event.learner_id >= low, Event.learner_id <= high)
        .group_by(Event.learner_id)
    )
    wanted = set(ids)
    return {learner: newest for learner, newest in db.session.execute(query) if learner in wanted}


def rebuild_digests(learner_ids: Sequence[int], now: float | None = None) -> int:
    """Rebuild these learners' digests from the event log (a backfill, or digests a sweep cannot trust)."""
    ids = sorted(set(int(i) for i in learner_ids))
    if not ids:
        return 0
    newest: dict[int, int] = {}
    for condition in chunks_in(Event.learner_id, ids):  # read before the events: a later event only makes it stale
        newest.update(
            db.session.execute(
                sa.select(Event.learner_id, sa.func.max(Event.id)).where(condition).group_by(Event.learner_id)
            )
            .tuples()
            .all()
        )
    events, _ = load_event_arrays(ids)
    store_digests(ids, events, newest, now if now is not None else datetime.now(UTC).timestamp())
    return len(ids)


def _load(ids: Sequence[int]) -> dict[int, Any]:
    columns = [
        LearnerDigest.learner_id,
        LearnerDigest.last_event_id,
        LearnerDigest.built_at,
        LearnerDigest.longest_streak,
        LearnerDigest.last_run,
        LearnerDigest.events,
    ]
    return {row.learner_id: row for row in select_where_in(columns, LearnerDigest.learner_id, ids)}


def _untrusted(ids: list[int], rows: dict[int, Any], now: float, since: int) -> list[int]:
    """Learners whose digest is missing, cut too late for `now`, or older than an event newer than `since`."""
    present = [learner for learner in ids if learner in rows]
    newest = _newest_event_ids(present, since) if present else {}
    earliest = now + TRUSTED_BEFORE_DAYS * SECONDS_PER_DAY
    return [
        learner
        for learner in ids
        if learner not in rows
        or rows[learner].built_at.timestamp() > earliest
        or newest.get(learner, 0) > rows[learner].last_event_id
    ]


def digest_events(learner_ids: Sequence[int], now: float, since: int = 0) -> tuple[EventArrays, Any]:
    """The kept events of these learners (sorted ids -> 0..n-1) and a function that puts the whole-history
    streaks into metrics computed from them; untrusted digests are rebuilt first."""
    ids = sorted(set(int(i) for i in learner_ids))
    rows = _load(ids) if ids else {}
    stale = _untrusted(ids, rows, now, since) if ids else []
    if stale:
        rebuild_digests(stale, now)
        rows.update(_load(stale))
    events = unpack([rows[i].events for i in ids])
    longest = np.array([rows[i].longest_streak for i in ids], dtype=np.int64)
    last_run = np.array([rows[i].last_run for i in ids], dtype=np.int64)
    return events, lambda metrics: with_streaks(metrics, events, longest, last_run, now)


def digest_inputs(learner_ids: Sequence[int], now: float, since: int = 0) -> RuleInputs:
    """Rule inputs of these learners from their digests: what build_inputs computes from the event log."""
    ids = sorted(set(int(i) for i in learner_ids))
    events, finish = digest_events(ids, now, since)
    return build_inputs(ids, now, events=events, finish=finish)


def advance_watermark() -> int:
    """At a sweep's start: its shards check the events newer than the newest one when the previous sweep (of
    any kind) started; every earlier event was checked by that sweep or one before it (0 the first time:
    every digest is checked). Stored with the sweep's status, so a later sweep does not move it."""
    client = redis_client()
    since = int(client.get(UPTO_KEY) or 0)
    client.set(UPTO_KEY, newest_event_id())
    return since


def newest_event_id() -> int:
    return int(db.session.scalar(sa.select(sa.func.max(Event.id))) or 0)


def mark_checked(upto: int) -> None:
    """After a full rebuild: every digest covers the events up to `upto`, so the next sweep starts there."""
    redis_client().set(UPTO_KEY, upto)


def daily_snapshots(learner_ids: Sequence[int], since: int) -> int:
    """The daily metric snapshots of these learners, computed from their digests."""
    ids = sorted(set(int(i) for i in learner_ids))
    now = datetime.now(UTC)
    if not ids:
        return 0
    return store_snapshots(ids, "daily", now=now, prepared=digest_inputs(ids, now.timestamp(), since=since))
