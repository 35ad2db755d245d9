"""Rebuild services.presence's set from the event log, the one way it becomes trusted: a scheduled task
(worker: learnpulse.presence.check, every 5 min) rebuilds it whenever it is not, on a new deployment or after
Redis lost it.

Scanning the events that occurred within the lookback of the rebuild's start covers every event a later
live_now can read that was committed before the scan; each one committed later is recorded by its own
ingest. So once the scan is recorded the set is as complete as one kept since `start - lookback - skew`,
and that is the clock it gets, unless Redis lost the set meanwhile (the rebuild's token is gone with it)."""

from __future__ import annotations

import math
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import redis
import sqlalchemy as sa
from flask import current_app

from models import SESSION_KINDS, Event, db
from services.clients import redis_client
from services.presence import PRESENCE_KEY, PRESENCE_SINCE_KEY, reaches, session_end_epoch, trusted
from services.sessions import LIVE_LOOKBACK

REBUILD_TOKEN_KEY = "learnpulse:presence:rebuild"
REBUILD_TOKEN_SECONDS = 3600  # a rebuild that has not finished by then lost its claim
CHUNK = 10_000  # reaches per ZADD


def check_presence() -> dict[str, Any]:
    """Rebuild the set if it is not trusted; what the scheduled check did."""
    client, lookback = redis_client(), LIVE_LOOKBACK.total_seconds()
    skew = float(current_app.config["MAX_CLOCK_SKEW_SECONDS"])
    if presence_trusted(client, lookback, skew):
        return {"trusted": True, "rebuilt": None}
    rebuilt = rebuild_presence(client, lookback, skew)
    return {"trusted": rebuilt is not None, "rebuilt": rebuilt}


def presence_trusted(client: redis.Redis, lookback: float, skew: float, now: float | None = None) -> bool:
    """Whether the set has been kept long enough to name everyone who may be live (services.presence)."""
    return trusted(client.get(PRESENCE_SINCE_KEY), time.time() if now is None else now, lookback, skew)


def rebuild_presence(client: redis.Redis, lookback: float, skew: float) -> int | None:
    """Record every learner's reach among the session events of the last `lookback` seconds, then trust the
    set; returns how many learners were recorded, or None if Redis lost the set (or another rebuild took over)
    meanwhile, which leaves the set untrusted for the next check."""
    token = secrets.token_hex(8)
    client.set(REBUILD_TOKEN_KEY, token, ex=REBUILD_TOKEN_SECONDS)
    start = time.time()
    reach = _reaches_since(datetime.fromtimestamp(start - lookback, UTC))
    items = list(reach.items())
    for offset in range(0, len(items), CHUNK):
        client.zadd(PRESENCE_KEY, dict(items[offset : offset + CHUNK]), gt=True)
    with client.pipeline() as pipe:
        try:
            pipe.watch(REBUILD_TOKEN_KEY)
            if pipe.get(REBUILD_TOKEN_KEY) != token.encode():
                return None
            pipe.multi()
            pipe.set(PRESENCE_SINCE_KEY, start - lookback - skew)
            pipe.delete(REBUILD_TOKEN_KEY)
            pipe.execute()
        except redis.WatchError:
            return None
    return len(reach)


def _reaches_since(since: datetime) -> dict[int, float]:
    """Each learner's furthest session reach among their events since `since` (one grouped scan on
    PostgreSQL; the embedded mode's small log is folded in Python)."""
    recent = sa.and_(Event.kind.in_(SESSION_KINDS), Event.occurred_at >= since)
    if db.engine.dialect.name == "postgresql":
        rows: Any = db.session.execute(
            sa.select(Event.learner_id, sa.func.max(session_end_epoch())).where(recent).group_by(Event.learner_id)
        )
        return {learner: _finite_or_inf(reach) for learner, reach in rows}
    rows = db.session.execute(
        sa.select(Event.learner_id, Event.kind, Event.occurred_at, Event.duration_seconds).where(recent)
    )
    return reaches(
        (
            learner,
            {"kind": kind, "occurred_at": moment.replace(tzinfo=moment.tzinfo or UTC), "duration_seconds": duration},
        )
        for learner, kind, moment, duration in rows
    )


def _finite_or_inf(value: float) -> float:
    """A reach that is not a number (a NaN duration) reaches indefinitely, as services.sessions counts it."""
    return value if math.isfinite(value) or value == math.inf else math.inf
