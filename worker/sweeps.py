"""Sweep fan-out: claim the window, then one Celery group of shards that any worker can take."""

from __future__ import annotations

from typing import Any

from celery import group

from services.digests import advance_watermark
from services.job_runs import finish_run, start_run
from services.monitoring import shard_ranges
from services.sweeps import claim_window, shard_size, window_of


def start_sweep(sweep: str, shard_task: Any, owner: str) -> dict[str, Any]:
    """Claim the window and fan the shards out; the shards do the work in parallel on any worker."""
    window = window_of(sweep)
    if not claim_window(sweep, window, owner):
        return {"sweep": sweep, "window": window, "skipped": "this window already ran"}
    ranges = shard_ranges(shard_size())
    since = advance_watermark()  # the shards look for events a digest may miss from here on
    start_run(
        sweep,
        "beat",
        window=window,
        shards=len(ranges),
        shards_done=0,
        learners=0,
        alerts_created=0,
        alerts_resolved=0,
        digest_since=since,
    )
    if ranges:
        group(shard_task.s(sweep, low, high, window) for low, high in ranges).apply_async()
    else:
        finish_run(sweep, "success")  # no learners: nothing will report back
    return {"sweep": sweep, "window": window, "shards": len(ranges)}
