"""The xAPI metric: statements stored, re-sent, mapped to events and left unmapped (Redis hash counters)."""

from __future__ import annotations

import logging

import redis

from services.clients import redis_client

log = logging.getLogger(__name__)
METRICS_KEY = "learnpulse:metrics:xapi"  # totals since this Redis began
FIELDS = ("statements", "duplicates", "events", "unmapped")


def count_statements(**increments: int) -> None:
    """Add to the counters after a commit; a Redis outage must not fail statements already stored."""
    try:
        pipe = redis_client().pipeline(transaction=False)
        for name in FIELDS:
            pipe.hincrby(METRICS_KEY, name, increments.get(name, 0))
        pipe.execute()
    except redis.RedisError:
        log.warning("could not count xAPI statements in %s: %s", METRICS_KEY, increments)


def xapi_counts() -> dict[str, int]:
    """The counters as /health shows them (`unmapped`: statements stored that produced no event)."""
    raw = redis_client().hgetall(METRICS_KEY)
    return {name: int(raw.get(name.encode(), 0)) for name in FIELDS}
