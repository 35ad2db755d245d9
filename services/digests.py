"""Learner digests in the database: written when learners are evaluated, read by the periodic sweeps.

A sweep reads one digest row per learner instead of the event log (analytics.event_digest). A digest
is rebuilt from the log only when it cannot be trusted: missing, built long after the sweep's
instant, or older than an event that arrived since the previous sweep started (an
evaluation that was lost: the event path normally rebuilds it within seconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from analytics.alert_rules import RuleInputs
from analytics.event_digest import DIGEST_DAYS, RECORD, build_digests, from_records, with_streaks
from analytics.grouping import SECONDS_PER_DAY
from analytics.learner_metrics import EventArrays
from analytics.report_digest import build_report_digests
from models import HEARTBEAT_KIND, Event, LearnerCounters, LearnerDigest, SkillMastery, db
from models.queries import driver_read_cursor
from models.upsert import chunks_in, dialect_insert, select_where_in
from services.analytics_data import load_event_arrays
from services.clients import redis_client
from services.monitoring import build_inputs
from services.rule_context import learner_modules_left

UPTO_KEY = "learnpulse:digests:upto"  # the newest event id when the last sweep started
TRUSTED_BEFORE_DAYS = DIGEST_DAYS - 30  # a digest serves instants from this long before it was built on


def store_digests(
    ids: Sequence[int],
    events: EventArrays,
    last_event_ids: dict[int, int],
    built_at: float,
    modules_left: np.ndarray | None = None,
    module_ids: np.ndarray | None = None,
) -> None:
    """Write the digests of these learners (sorted, as in `events`) with their modules left (NaN: unknown)
    and, given each event's module, the report's whole-history figures; an older build never overwrites a
    newer one."""
    if not ids:
        return
    digests = build_digests(events, built_at)
    reports: list[bytes | None] = [None] * len(ids)
    if module_ids is not None:
        reports = [*build_report_digests(events, module_ids, *skill_coverage(ids))]
    moment = datetime.fromtimestamp(built_at, UTC)
    rows = [
        {
            "learner_id": learner,
            "last_event_id": int(last_event_ids.get(learner, 0)),
            "built_at": moment,
            "longest_streak": int(digests.longest_streak[i]),
            "last_run": int(digests.last_run[i]),
            "events": digests.blobs[i],
            "modules_left": None if modules_left is None or np.isnan(modules_left[i]) else float(modules_left[i]),
            "report": reports[i],
        }
        for i, learner in enumerate(ids)
    ]
    stmt = dialect_insert(LearnerDigest)
    columns = ("last_event_id", "built_at", "longest_streak", "last_run", "events", "modules_left", "report")
    table = LearnerDigest.__table__
    stmt = stmt.on_conflict_do_update(
        index_elements=["learner_id"],
        set_={c: getattr(stmt.excluded, c) for c in columns},
        where=table.c.last_event_id <= stmt.excluded.last_event_id,
    )
    db.session.execute(stmt, rows)
    db.session.commit()


def skill_coverage(ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Per learner (sorted ids): how many skills they attempted, and how many of those have no stored mastery
    row (history loaded around the ingest path, which stores mastery): the report replays those."""
    unstored = ~sa.exists().where(SkillMastery.learner_id == Event.learner_id, SkillMastery.skill == Event.skill)
    skills = sa.func.count(sa.distinct(Event.skill))
    found: dict[int, tuple[int, int]] = {}
    for condition in chunks_in(Event.learner_id, ids):
        query = (
            sa.select(Event.learner_id, skills, skills.filter(unstored))
            .where(condition, Event.kind == "assessment", Event.skill.is_not(None))
            .group_by(Event.learner_id)
        )
        found.update({learner: (attempted, missing) for learner, attempted, missing in db.session.execute(query)})
    attempted = np.array([found.get(i, (0, 0))[0] for i in ids], dtype=np.int64)
    return attempted, np.array([found.get(i, (0, 0))[1] for i in ids], dtype=np.int64)


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
        .where(Event.id > since, Event.learner_id >= low, Event.learner_id <= high, Event.kind != HEARTBEAT_KIND)
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
                sa.select(Event.learner_id, sa.func.max(Event.id))
                .where(condition, Event.kind != HEARTBEAT_KIND)  # as the counters count: heartbeats never stale one
                .group_by(Event.learner_id)
            )
            .tuples()
            .all()
        )
    events, module_ids = load_event_arrays(ids)
    left = learner_modules_left(ids, events, module_ids)
    store_digests(ids, events, newest, now if now is not None else datetime.now(UTC).timestamp(), left, module_ids)
    return len(ids)


@dataclass(frozen=True)
class Stored:
    """The digests of consecutive learners, as arrays (one entry per learner, their records concatenated)."""

    learner: np.ndarray
    last_event_id: np.ndarray
    built_at: np.ndarray  # epoch seconds
    longest: np.ndarray
    last_run: np.ndarray
    modules_left: np.ndarray  # when the digest was built (NaN: unknown)
    counts: np.ndarray  # records per learner
    records: np.ndarray  # RECORD rows

    def only(self, ids: np.ndarray) -> Stored:
        keep = np.isin(self.learner, ids)
        heads = {f.name: getattr(self, f.name)[keep] for f in fields(self) if f.name != "records"}
        return Stored(**heads, records=self.records[np.repeat(keep, self.counts)])


# PostgreSQL packs the rows into two values (fixed-width heads, then every record), so the client does
# no per-row work (the same idea as services.analytics_data.PACKED_QUERY). No ORDER BY: sorting 5 MB
# of records costs PostgreSQL 4x the read; both aggregates see the rows in the same order, and numpy
# puts them in learner order.
HEAD_FIELDS = ("learner", "last", "built", "longest", "run", "left", "n")  # left: modules left; n: record bytes
HEAD = np.dtype(list(zip(HEAD_FIELDS, (">i8", ">i8", ">f8", ">i4", ">i4", ">f8", ">i4"), strict=True)))
PACKED_DIGESTS = """
SELECT string_agg(int8send(learner_id::int8) || int8send(last_event_id) || float8send(extract(epoch FROM built_at)::float8)
                  || int4send(longest_streak) || int4send(last_run)
                  || float8send(coalesce(modules_left, 'NaN')::float8) || int4send(length(events)), ''::bytea),
       string_agg(events, ''::bytea)
FROM learner_digests WHERE learner_id BETWEEN %(low)s AND %(high)s
"""


def _heads(low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """Heads in learner order and their records (RECORD rows, in the same order)."""
    if db.engine.dialect.name == "postgresql":
        heads, data = driver_read_cursor().execute(PACKED_DIGESTS, {"low": low, "high": high}, binary=True).fetchone()
        head = np.frombuffer(heads or b"", HEAD)
        return in_learner_order(head, np.frombuffer(data or b"", RECORD))
    rows = db.session.execute(
        sa.select(LearnerDigest).where(LearnerDigest.learner_id.between(low, high)).order_by(LearnerDigest.learner_id)
    ).scalars()
    head_rows, blobs = [], []
    for row in rows:
        head_rows.append(
            (
                row.learner_id,
                row.last_event_id,
                row.built_at.timestamp(),
                row.longest_streak,
                row.last_run,
                np.nan if row.modules_left is None else row.modules_left,
                len(row.events),
            )
        )
        blobs.append(row.events)
    return np.array(head_rows, dtype=HEAD), np.frombuffer(b"".join(blobs), RECORD)


def in_learner_order(head: np.ndarray, records: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heads sorted by learner, and their records moved along with them."""
    if (np.diff(head["learner"]) > 0).all():  # rows written in id order are usually read back in it
        return head, records
    order = np.argsort(head["learner"], kind="stable")
    counts = head["n"].astype(np.int64) // RECORD.itemsize
    starts = np.cumsum(counts) - counts
    moved = counts[order]
    index = np.repeat(starts[order] - (np.cumsum(moved) - moved), moved) + np.arange(int(moved.sum()))
    return head[order], records[index]


def load_digests(ids: Sequence[int]) -> Stored:
    """The stored digests of these learners (sorted ids; learners without one are absent)."""
    wanted = np.asarray(sorted(set(ids)), dtype=np.int64)
    if not len(wanted):
        empty = np.zeros(0, dtype=np.int64)
        return Stored(empty, empty, empty.astype(float), empty, empty, empty.astype(float), empty, np.zeros(0, RECORD))
    heads, records = _heads(int(wanted[0]), int(wanted[-1]))
    stored = Stored(
        heads["learner"].astype(np.int64),
        heads["last"].astype(np.int64),
        heads["built"].astype(np.float64),
        heads["longest"].astype(np.int64),
        heads["run"].astype(np.int64),
        heads["left"].astype(np.float64),
        heads["n"].astype(np.int64) // RECORD.itemsize,
        records,
    )
    return stored.only(wanted)


def _untrusted(ids: list[int], stored: Stored, now: float, since: int) -> list[int]:
    """Learners whose digest is missing, cut too late for `now`, or older than an event newer than `since`."""
    newest = _newest_event_ids(stored.learner.tolist(), since) if len(stored.learner) else {}
    latest = np.array([newest.get(learner, 0) for learner in stored.learner.tolist()], dtype=np.int64)
    late = stored.built_at > now + TRUSTED_BEFORE_DAYS * SECONDS_PER_DAY
    missing = np.setdiff1d(np.asarray(ids, dtype=np.int64), stored.learner)
    return sorted(missing.tolist() + stored.learner[late | (latest > stored.last_event_id)].tolist())


def _trusted_digests(ids: list[int], now: float, since: int) -> Stored:
    """The digests of these learners (sorted ids), untrusted ones rebuilt from the log first."""
    stored = load_digests(ids)
    stale = _untrusted(ids, stored, now, since) if ids else []
    if stale:
        rebuild_digests(stale, now)
        stored = load_digests(ids)
    return stored


def digest_events(learner_ids: Sequence[int], now: float, since: int = 0) -> tuple[EventArrays, Any]:
    """The kept events of these learners (sorted ids -> 0..n-1) and a function that puts the whole-history
    streaks into metrics computed from them; untrusted digests are rebuilt first."""
    stored = _trusted_digests(sorted(set(int(i) for i in learner_ids)), now, since)
    return _events_of(stored, now)


def _events_of(stored: Stored, now: float) -> tuple[EventArrays, Any]:
    events = from_records(stored.records, stored.counts)
    return events, lambda metrics: with_streaks(metrics, events, stored.longest, stored.last_run, now)


def digest_inputs(learner_ids: Sequence[int], now: float, since: int = 0) -> RuleInputs:
    """Rule inputs of these learners from their digests: what build_inputs computes from the event log
    (modules left as stored with each digest)."""
    ids = sorted(set(int(i) for i in learner_ids))
    stored = _trusted_digests(ids, now, since)
    events, finish = _events_of(stored, now)
    return build_inputs(ids, now, events=events, finish=finish, modules_left=stored.modules_left)


def watermark() -> int:
    """Where the next sweep starts checking (the newest event id when the last one started; 0: never)."""
    return int(redis_client().get(UPTO_KEY) or 0)


def advance_watermark() -> int:
    """At a sweep's start: its shards check the events newer than the newest one when the previous sweep (of
    any kind) started; every earlier event was checked by that sweep or one before it (0 the first time:
    every digest is checked). Stored with the sweep's status, so a later sweep does not move it."""
    since = watermark()
    redis_client().set(UPTO_KEY, newest_event_id())
    return since


def newest_event_id() -> int:
    return int(db.session.scalar(sa.select(sa.func.max(Event.id))) or 0)


def mark_checked(upto: int) -> None:
    """After a full rebuild: every digest covers the events up to `upto`, so the next sweep starts there."""
    redis_client().set(UPTO_KEY, upto)
