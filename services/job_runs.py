"""The last run of every background job, whoever started it, for `flask monitoring status`.

One Redis hash per job (`learnpulse:monitoring:<job>`): started_at, finished_at, duration_seconds,
outcome (running, success, failed), started_by (beat, cli, api), error, and the job's own figures
(learners, alerts_created, ...). A sweep's shards add their figures to the hash of the run they
belong to (services.sweeps); a run started later replaces the hash, so it always shows the last run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from services.clients import redis_client

JOBS = ("performance", "engagement", "velocity", "daily", "alert_cleanup", "evaluation")
STARTERS = ("beat", "cli", "api")
STATUS_KEY = "learnpulse:monitoring:{}"
RESET = {"finished_at": "", "duration_seconds": "", "outcome": "running", "error": "", "window": ""}


def start_run(job: str, started_by: str, **figures: Any) -> None:
    """Record that `job` started now (replacing its previous run)."""
    if job not in JOBS or started_by not in STARTERS:
        raise ValueError(f"unknown job {job!r} or starter {started_by!r}")
    key = STATUS_KEY.format(job)
    started = {"started_at": datetime.now(UTC).isoformat(), "started_by": started_by}
    redis_client().pipeline().delete(key).hset(key, mapping={**RESET, **started, **figures}).execute()


def finish_run(job: str, outcome: str = "success", **figures: Any) -> None:
    """Record the end of the job's current run, its duration and outcome (and any final figures)."""
    key = STATUS_KEY.format(job)
    client = redis_client()
    raw = client.hget(key, "started_at")
    finished = datetime.now(UTC)
    duration = round((finished - datetime.fromisoformat(raw.decode())).total_seconds(), 3) if raw else ""
    client.hset(
        key,
        mapping={"finished_at": finished.isoformat(), "duration_seconds": duration, "outcome": outcome, **figures},
    )


@contextmanager
def recorded_run(job: str, started_by: str, **figures: Any) -> Iterator[dict[str, Any]]:
    """Record a run around a block; the block fills the yielded dict with its figures. A failure is
    recorded as `failed` with its error, then raised on (the caller or Celery handles it)."""
    start_run(job, started_by, **figures)
    result: dict[str, Any] = {}
    try:
        yield result
    except Exception as exc:
        finish_run(job, "failed", error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    finish_run(job, "success", **{k: v for k, v in result.items() if isinstance(v, (int, float, str))})


def last_runs() -> dict[str, dict[str, str]]:
    """Each job's last run as recorded (an empty dict for a job that never ran)."""
    client = redis_client()
    pipe = client.pipeline()
    for job in JOBS:
        pipe.hgetall(STATUS_KEY.format(job))
    return {job: {k.decode(): v.decode() for k, v in values.items()} for job, values in zip(JOBS, pipe.execute())}
