"""Who may be in a learning session now: each learner's furthest session "reach" (an event's time plus its
duration), kept in one Redis sorted set as events are stored, so a dashboard's `live_now` (services.sessions)
probes the events of the few learners active lately instead of every enrolled learner's.

The set is trusted from the moment PRESENCE_SINCE_KEY says (services.presence_rebuild: the beat's check rebuilds
the set from the event log's last LIVE_LOOKBACK whenever that key is missing, on a new deployment or after Redis
lost it): from then on ingest records every stored event, and live_now reads only events that occurred within
LIVE_LOOKBACK, none more than the allowed clock skew in the future. Until then callers probe every enrolled
learner, as before. Recording is best-effort like live delivery: an event whose record failed (Redis down at
that moment) shows its learner live again from their next event or heartbeat.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

import redis
import sqlalchemy as sa

from models import SESSION_KINDS, Event
from services.redis_trip import RoundTrip

PRESENCE_KEY = "learnpulse:presence"  # sorted set: learner row id -> epoch seconds its latest session reaches
PRESENCE_SINCE_KEY = "learnpulse:presence:since"  # epoch seconds: the set holds every event that occurred since
TRIM_MARGIN_SECONDS = 60.0  # entries are dropped this long after they could last matter

log = logging.getLogger(__name__)


def reaches(events: Iterable[tuple[int, dict[str, Any]]]) -> dict[int, float]:
    """Each learner's furthest reach among these stored events (validated: `occurred_at` a datetime): an event's
    time plus its non-negative duration, the bound services.sessions filters by (a heartbeat's duration reaches
    back, so it over-counts, never under-counts); a duration that is not a number reaches indefinitely."""
    out: dict[int, float] = {}
    for learner, event in events:
        if event["kind"] in SESSION_KINDS:
            duration = event.get("duration_seconds") or 0.0
            reach = event["occurred_at"].timestamp() + (max(duration, 0.0) if duration == duration else math.inf)
            if reach > out.get(learner, -math.inf):
                out[learner] = reach
    return out


def session_end_epoch() -> sa.ColumnElement[float]:
    """SQL (PostgreSQL) for what `reaches` counts of a stored event: its epoch time plus its non-negative
    duration (NULL as none; NaN stays NaN, which PostgreSQL orders above every number)."""
    return sa.cast(sa.extract("epoch", Event.occurred_at), sa.Float) + sa.func.greatest(
        sa.func.coalesce(Event.duration_seconds, 0.0), 0.0
    )


def queue_presence(trip: RoundTrip, reach: dict[int, float]) -> None:
    """Add the learners' reaches to a round trip (a learner's score only ever rises)."""
    if reach:
        trip.add(lambda pipe: pipe.zadd(PRESENCE_KEY, reach, gt=True))


def record_presence(client: redis.Redis, reach: dict[int, float]) -> None:
    """queue_presence in a round trip of its own (for events nothing else is announced for: heartbeats);
    logs, never raises: the events are stored."""
    trip = RoundTrip(client)
    queue_presence(trip, reach)
    try:
        trip.execute()
    except redis.RedisError as exc:
        log.warning("could not record the presence of %d learner(s): %s", len(reach), exc)


def present_learners(
    client: redis.Redis, now: float, reach_from: float, lookback: float, skew: float
) -> set[int] | None:
    """Learners whose latest session reaches `reach_from` or later, or None when the set is not trusted (it does
    not hold every event of the last `lookback` + `skew` seconds) or Redis cannot say; drops entries older than
    `lookback`."""
    pipe = client.pipeline(transaction=False)
    pipe.get(PRESENCE_SINCE_KEY)
    pipe.zremrangebyscore(PRESENCE_KEY, "-inf", f"({now - lookback - TRIM_MARGIN_SECONDS}")
    pipe.zrangebyscore(PRESENCE_KEY, reach_from, "+inf")
    try:
        since, _, members = pipe.execute()
    except redis.RedisError as exc:
        log.warning("could not read who is present, probing every learner: %s", exc)
        return None
    return {int(member) for member in members} if trusted(since, now, lookback, skew) else None


def trusted(since: bytes | None, now: float, lookback: float, skew: float) -> bool:
    """Whether a set whose PRESENCE_SINCE_KEY reads `since` holds every event of the last `lookback` + `skew`."""
    return since is not None and float(since) <= now - lookback - skew
