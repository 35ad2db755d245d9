"""Sweep fan-out: claim the window, then one Celery group of shards that any worker can take."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from celery import group

from services.clients import redis_client
from services.digests import advance_watermark
from services.monitoring import shard_ranges
from services.sweeps import STATUS_KEY, claim_window, shard_size, window_of


def start_sweep(sweep: str, shard_task: Any, owner: str) -> dict[str, Any]:
    """Claim the window and fan the shards out; the shards do the work in parallel on any worker."""
    window = window_of(sweep)
    if not claim_window(sweep, window, owner):
        return {"sweep": sweep, "window": window, "skipped": "this window already ran"}
    ranges = shard_ranges(shard_size())
    since = advance_watermark()  # the shards look for events a digest may miss from here on
    redis_client().hset(
        STATUS_KEY.format(sweep),
        mapping={
            "window": window,
            "started_at": datetime.now(UTC).isoformat(),
            "shards": len(ranges),
            "shards_done": 0,
            "learners": 0,
            "alerts_created": 0,
            "alerts_resolved": 0,
            "finished_at": "",
            "duration_seconds": "",
            "digest_since": since,
        },
    )
    if ranges:
        group(shard_task.s(sweep, low, high, window) for low, high in ranges).apply_async()
    return {"sweep": sweep, "window": window, "shards": len(ranges)}
