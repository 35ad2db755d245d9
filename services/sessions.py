"""Learning sessions of a learner or a section's learners: load their events, derive the sessions
(analytics.sessions) and shape the answers. Only what learners do counts (activity, completions,
assessments), not what the school records about them (grades, attendance); session heartbeats (POST track/)
extend or open a session without counting as one of its events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import ARRAY as postgresql_array

from analytics.sessions import TIMES_OF_DAY, Sessions, SessionSummary, derive_sessions, summarize_sessions
from models import HEARTBEAT_KIND, SESSION_KINDS, Enrollment, Event, User, db
from models.queries import core_execute
from models.unprepared import UNPREPARED
from models.upsert import chunks_in
from services.clients import redis_client
from services.json_values import json_scalar
from services.presence import present_learners, session_end_epoch


def load_sessions(ids: Sequence[int], since: datetime, gap_seconds: float) -> Sessions:
    """Sessions of these learners (sorted row ids -> indices) from their events since `since`."""
    rows: list[Any] = []
    for condition in chunks_in(Event.learner_id, ids):
        rows += _session_events(condition, since)
    return _derived(ids, rows, gap_seconds)


def _session_events(condition: Any, since: datetime) -> list[Any]:
    """(learner, time, duration, kind) of the learners' session events since `since`, in order."""
    return list(
        db.session.execute(
            sa.select(Event.learner_id, Event.occurred_at, Event.duration_seconds, Event.kind)
            .where(condition, Event.kind.in_(SESSION_KINDS), Event.occurred_at >= since)
            .order_by(Event.learner_id, Event.occurred_at, Event.id)
            # unprepared: a generic plan cannot hash the learners' array and searched it for every row (a
            # section's sessions 41.7 ms instead of 22.3, the same buffers), and the window decides the plan too
            .execution_options(**UNPREPARED)
        ).all()
    )


def _derived(ids: Sequence[int], rows: list[Any], gap_seconds: float) -> Sessions:
    position = {pk: i for i, pk in enumerate(ids)}
    kind = np.array([SESSION_KINDS.index(row[3]) for row in rows], dtype=np.int64)
    return derive_sessions(
        np.array([position[row[0]] for row in rows], dtype=np.int64),
        np.array([row[1].timestamp() for row in rows], dtype=float),
        np.array([row[2] if row[2] is not None else np.nan for row in rows], dtype=float),
        kind,
        len(SESSION_KINDS),
        gap_seconds,
        presence=kind == SESSION_KINDS.index(HEARTBEAT_KIND),
    )


def utc_offsets(starts: np.ndarray, zone: str) -> np.ndarray:
    """The zone's offset from UTC (seconds) at each moment, looked up once per distinct UTC day."""
    tz = ZoneInfo(zone)
    days, index = np.unique(np.floor(np.asarray(starts) / 86400), return_inverse=True)
    offsets = [datetime.fromtimestamp(day * 86400 + 43200, tz).utcoffset() or timedelta(0) for day in days]
    return np.array([o.total_seconds() for o in offsets], dtype=float)[index] if len(days) else np.zeros(0)


def _iso(epoch: float) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat() if np.isfinite(epoch) else None


def _minutes(value: float) -> float | None:
    return json_scalar(float(value), 1)


def _learner_figures(summary: SessionSummary, i: int, days: int) -> dict[str, Any]:
    counts = summary.time_of_day[i]
    return {
        "sessions": int(summary.count[i]),
        "sessions_per_week": round(float(summary.count[i]) / max(days / 7.0, 1.0), 2),
        "total_minutes": _minutes(summary.total_minutes[i]),
        "mean_minutes": _minutes(summary.mean_minutes[i]),
        "median_minutes": _minutes(summary.median_minutes[i]),
        "longest_minutes": _minutes(summary.longest_minutes[i]),
        "events_per_session": json_scalar(float(summary.events_per_session[i]), 2),
        "time_of_day": dict(zip(TIMES_OF_DAY, counts.tolist())),
        "preferred_time_of_day": TIMES_OF_DAY[int(counts.argmax())] if counts.any() else None,
        "open_now": bool(summary.open_now[i]),
        "last_active": _iso(float(summary.last_end[i])),
    }


def _session_json(sessions: Sessions, row: int) -> dict[str, Any]:
    return {
        "start": _iso(float(sessions.start[row])),
        "end": _iso(float(sessions.end[row])),
        "minutes": _minutes(sessions.minutes[row]),
        "events": int(sessions.events[row]),
        "active_minutes": _minutes(sessions.active_seconds[row] / 60.0),
        "activity": dict(zip(SESSION_KINDS, sessions.kind_counts[row].astype(int).tolist())),
    }


def _computed(
    ids: list[int], days: int, gap_minutes: float, zone: str, now: datetime
) -> tuple[Sessions, SessionSummary]:
    gap = gap_minutes * 60.0
    sessions = load_sessions(ids, now - timedelta(days=days), gap)
    offsets = utc_offsets(sessions.start, zone)
    return sessions, summarize_sessions(sessions, len(ids), now.timestamp(), gap, offsets)


def learner_sessions(learner_id: int, days: int, gap_minutes: float, zone: str, recent: int) -> dict[str, Any]:
    """One learner's session analytics over the last `days`, with their `recent` latest sessions."""
    now = datetime.now(UTC)
    sessions, summary = _computed([learner_id], days, gap_minutes, zone, now)
    latest = list(range(len(sessions.start) - 1, max(len(sessions.start) - 1 - recent, -1), -1))
    return {
        "summary": _learner_figures(summary, 0, days),
        "current_session": _session_json(sessions, latest[0]) if summary.open_now[0] else None,
        "sessions": [_session_json(sessions, row) for row in latest],
    }


LIVE_LOOKBACK = timedelta(hours=12)  # an open session that began earlier shows as starting then
MAX_PRESENT_LEARNERS = 5000  # more learners active lately than this: probe the sections' (SQLite's bound is 32,766)


@cache
def _live_window(postgresql: bool, narrowed: bool) -> sa.Select:
    """The session events since :since of the learners enrolled in :sections (`narrowed`: and among
    :learners), built once per process, dialect and form.

    On PostgreSQL the enrolled learners are one array (ANY(ARRAY(...))), so the window is read per learner through
    ix_events_learner_occurred (~4 ms for 1,000 learners' 600 rows; as `IN (subquery)` the planner scanned the
    whole table instead: 25-60 ms on a 100k-event log, growing with it), and only the rows of learners who may be
    live travel: those with an event reaching :reach (its time plus its duration, at least its time; a NaN
    duration counts as reaching), a bound the caller sets a second before the gap's start, so every learner
    summarize_sessions finds open is among them and their every row is read (what the others' rows would
    give is no session open now). Narrowed to services.presence's learners, only theirs are probed. The embedded
    mode (SQLite) reads the whole window of the (narrowed) learners."""
    enrolled = sa.select(Enrollment.learner_id).where(
        Enrollment.section_id.in_(sa.bindparam("sections", expanding=True))
    )
    if narrowed:
        enrolled = enrolled.where(
            Enrollment.learner_id == sa.any_(sa.bindparam("learners", type_=postgresql_array(sa.Integer)))
            if postgresql
            else Enrollment.learner_id.in_(sa.bindparam("learners", expanding=True))
        )
    columns = (Event.learner_id, Event.occurred_at, Event.duration_seconds, Event.kind)
    window = sa.select(*columns).where(Event.kind.in_(SESSION_KINDS), Event.occurred_at >= sa.bindparam("since"))
    if not postgresql:
        return window.where(Event.learner_id.in_(enrolled)).order_by(Event.learner_id, Event.occurred_at, Event.id)
    rows = (
        window.add_columns(
            Event.id, sa.func.max(session_end_epoch()).over(partition_by=Event.learner_id).label("reach")
        )
        .where(Event.learner_id == sa.any_(sa.func.array(enrolled.scalar_subquery())))
        .subquery()
    )
    return (
        sa.select(rows.c.learner_id, rows.c.occurred_at, rows.c.duration_seconds, rows.c.kind)
        .where(rows.c.reach >= sa.bindparam("reach", type_=sa.Float))
        .order_by(rows.c.learner_id, rows.c.occurred_at, rows.c.id)
    )


_NAMES = sa.select(User.id, User.external_id, User.name).where(User.id.in_(sa.bindparam("ids", expanding=True)))


def live_now(section_ids: Sequence[int], gap_minutes: float) -> list[dict[str, Any]]:
    """Which learners of these sections are in a session now: for dashboards, from the last LIVE_LOOKBACK
    of events only, of the learners services.presence names as active lately when it can (all the sections'
    learners otherwise), and naming only the learners found live (a roster of thousands is never loaded)."""
    now = datetime.now(UTC)
    gap = gap_minutes * 60.0
    reach = now.timestamp() - gap - 1.0  # a second's margin for the database's own arithmetic
    present = _present(now.timestamp(), reach) if section_ids else set()
    window = {"sections": list(section_ids), "since": now - LIVE_LOOKBACK, "reach": reach}
    if present is not None:
        window["learners"] = sorted(present)
    statement = _live_window(db.engine.dialect.name == "postgresql", present is not None)
    rows: list[Any] = list(core_execute(statement, window)) if section_ids and present != set() else []
    ids = sorted({row[0] for row in rows})
    sessions = _derived(ids, rows, gap)
    summary = summarize_sessions(sessions, len(ids), now.timestamp(), gap)
    live = [pk for i, pk in enumerate(ids) if summary.open_now[i]]
    names: list[Any] = list(core_execute(_NAMES, {"ids": live})) if live else []
    about = {pk: (external_id, name) for pk, external_id, name in names}
    return _live_rows(ids, about, sessions, summary)


def _present(now: float, reach: float) -> set[int] | None:
    """The learners whose sessions may be open (services.presence), or None: probe every enrolled learner
    (the set is not trusted yet, Redis cannot say, or it names more learners than a statement should carry)."""
    skew = float(current_app.config["MAX_CLOCK_SKEW_SECONDS"])
    present = present_learners(redis_client(), now, reach, LIVE_LOOKBACK.total_seconds(), skew)
    return present if present is None or len(present) <= MAX_PRESENT_LEARNERS else None


def _live_rows(
    ids: list[int], about: dict[int, tuple[str, str | None]], sessions: Sessions, summary: SessionSummary
) -> list[dict[str, Any]]:
    """The open session of each learner who has one, newest activity first."""
    last = np.cumsum(summary.count) - 1
    rows = [
        {
            "learner": about[pk][0],
            "name": about[pk][1],
            "session_started": _iso(float(sessions.start[last[i]])),
            "last_active": _iso(float(sessions.end[last[i]])),
            "minutes": _minutes(sessions.minutes[last[i]]),
            "events": int(sessions.events[last[i]]),
        }
        for i, pk in enumerate(ids)
        if summary.open_now[i]
    ]
    return sorted(rows, key=lambda row: row["last_active"] or "", reverse=True)


def section_sessions(
    learners: list[tuple[int, str, str | None]], days: int, gap_minutes: float, zone: str
) -> dict[str, Any]:
    """Session analytics of a section's learners ((row id, external id, name)), and who is live now."""
    now = datetime.now(UTC)
    ids = sorted(pk for pk, _, _ in learners)
    about = {pk: (external_id, name) for pk, external_id, name in learners}
    sessions, summary = _computed(ids, days, gap_minutes, zone, now)
    live = _live_rows(ids, about, sessions, summary)
    minutes = sessions.minutes
    return {
        "summary": {
            "learners": len(ids),
            "learners_with_sessions": int((summary.count > 0).sum()),
            "sessions": len(minutes),
            "sessions_per_learner_per_week": round(len(minutes) / max(len(ids), 1) / max(days / 7.0, 1.0), 2),
            "mean_minutes": _minutes(minutes.mean()) if len(minutes) else None,
            "median_minutes": _minutes(np.median(minutes)) if len(minutes) else None,
            "time_of_day": dict(zip(TIMES_OF_DAY, summary.time_of_day.sum(axis=0).tolist())),
            "live_now": len(live),
        },
        "live_now": live,
        "learners": [
            {"learner": about[pk][0], "name": about[pk][1], **_learner_figures(summary, i, days)}
            for i, pk in enumerate(ids)
        ],
    }
