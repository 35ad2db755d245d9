"""Sweep windows, shards and status: one coordinator per window (a Redis lock), shards idempotent per window."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app

import celeryconfig
from analytics.alert_rules import RuleInputs
from models import Alert, AlertHistory, db
from services.clients import redis_client
from services.cohorts import snapshot_sections
from services.daily_digests import daily_snapshots
from services.digests import digest_inputs
from services.job_runs import STATUS_KEY, finish_run, last_runs
from services.monitoring import evaluate_rules, learner_ids_between
from services.scheduled_jobs import velocity_snapshots
from services.skill_refit import refit_skills

__all__ = ["STATUS_KEY", "claim_window", "run_shard", "shard_size", "sweep_status", "window_of"]


def _period_seconds(entry: dict[str, Any]) -> int:
    """How often a beat entry fires: a number of seconds, or a crontab that runs daily or weekly."""
    schedule = entry["schedule"]
    if isinstance(schedule, (int, float)):
        return int(schedule)
    return 86400 if len(schedule.day_of_week) == 7 else 7 * 86400


def _sweep_periods() -> dict[str, int]:
    """Each sweep's period, read from the one beat schedule in celeryconfig.py."""
    periods = {}
    for entry in celeryconfig.beat_schedule.values():
        if entry["task"] == "learnpulse.monitoring.sweep":
            periods[entry["args"][0]] = _period_seconds(entry)
        elif entry["task"] == "learnpulse.analytics.daily":
            periods["daily"] = _period_seconds(entry)
    return periods


PERIOD_SECONDS = _sweep_periods()
LOCK_KEY = "learnpulse:lock:sweep:{}:{}"
SHARD_DONE_KEY = "learnpulse:done:shard:{}:{}:{}"


def window_of(sweep: str, now: float | None = None) -> int:
    """The sweep's time window number: one run per window, however many beats fire."""
    return int((now or time.time()) // PERIOD_SECONDS[sweep])


def claim_window(sweep: str, window: int, owner: str) -> bool:
    """True for the first claimant of this window, and for that same task when it is redelivered
    (its worker died after claiming); another task in the same window (a second beat) gets False."""
    key = LOCK_KEY.format(sweep, window)
    client = redis_client()
    if client.set(key, owner, nx=True, ex=2 * PERIOD_SECONDS[sweep]):
        return True
    holder = client.get(key)
    return holder is not None and holder.decode() == owner


def shard_size() -> int:
    """Learners per shard task (MONITORING_SHARD_SIZE): Celery's ~1-2 ms per task is noise at 5,000."""
    return int(current_app.config["MONITORING_SHARD_SIZE"])


def run_shard(sweep: str, low: int, high: int, window: int) -> dict[str, Any]:
    """Evaluate one range of learners; a redelivered shard that already finished does nothing."""
    done_key = SHARD_DONE_KEY.format(sweep, window, low)
    if redis_client().exists(done_key):
        return {"skipped": "shard already done"}
    started, now = time.monotonic(), datetime.now(UTC)
    ids = learner_ids_between(low, high)
    try:
        if sweep == "velocity":
            created = resolved = 0
            velocity_snapshots(ids)  # velocity metrics and completion forecasts
        else:
            stats = evaluate_rules(ids, sweep, now=now, prepared=sweep_inputs(ids, sweep, now))
            created, resolved = stats.created, stats.resolved
    except Exception as exc:  # recorded, then raised on: Celery retries or records the failure
        finish_run(sweep, "failed", error=f"shard {low}-{high}: {type(exc).__name__}: {exc}"[:500])
        raise
    _record(sweep, window, len(ids), created, resolved, time.monotonic() - started)
    redis_client().set(done_key, 1, ex=2 * PERIOD_SECONDS[sweep])
    return {"sweep": sweep, "learners": len(ids), "created": created, "resolved": resolved}


def _daily_once(part: str, window: int, shard: Any, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one shard of the daily task's `part` (its figures), unless a redelivered copy already finished it
    in this window: a done key per part, window and shard, kept for two days."""
    done_key = SHARD_DONE_KEY.format(part, window, shard)
    if redis_client().exists(done_key):
        return {"skipped": "shard already done"}
    figures = work()
    redis_client().set(done_key, 1, ex=2 * PERIOD_SECONDS["daily"])
    return figures


def run_daily_shard(low: int, high: int, since: int, window: int) -> dict[str, Any]:
    """One range of learners' daily snapshots (from digests); a redelivered shard that finished does nothing."""
    return _daily_once(
        "daily", window, low, lambda: {"snapshots": daily_snapshots(learner_ids_between(low, high), since)}
    )


def run_daily_cohort_shard(sections: list[tuple[int, int | None]], window: int) -> dict[str, Any]:
    """One shard of sections' daily cohort snapshots; a redelivered shard that finished does nothing."""
    pairs = [(int(s), None if c is None else int(c)) for s, c in sections]
    return _daily_once(
        "daily-cohorts", window, pairs[0][0] if pairs else 0, lambda: {"cohorts": snapshot_sections(pairs)}
    )


def run_daily_skill_shard(index: int, skills: list[str], besides: list[str] | None, window: int) -> dict[str, Any]:
    """One shard of the daily BKT refit (services.skill_refit.skill_shards); a redelivered shard that finished
    does nothing."""
    return _daily_once("daily-skills", window, index, lambda: {"skills": refit_skills(skills, besides)})


def sweep_inputs(ids: list[int], sweep: str, now: datetime) -> RuleInputs | None:
    """The shard's rule inputs from the learners' digests (MONITORING_DIGESTS, the default), or None:
    evaluate_rules then reads the whole event log (the way sweeps worked before digests)."""
    if not ids or not current_app.config.get("MONITORING_DIGESTS", True):
        return None
    since = int(redis_client().hget(STATUS_KEY.format(sweep), "digest_since") or 0)
    return digest_inputs(ids, now.timestamp(), since=since)


def _record(sweep: str, window: int, learners: int, created: int, resolved: int, seconds: float) -> None:
    """Add a shard's figures to the sweep's status (read by `flask monitoring status`)."""
    key = STATUS_KEY.format(sweep)
    client = redis_client()
    if client.hget(key, "window") not in (str(window).encode(), None):
        return  # a newer window has started; this late shard's figures belong to an old run
    pipe = client.pipeline()
    pipe.hincrby(key, "learners", learners).hincrby(key, "alerts_created", created).hincrby(
        key, "alerts_resolved", resolved
    )
    pipe.hincrby(key, "shards_done", 1)
    shards_done, total = pipe.execute()[-1], int(client.hget(key, "shards") or 0)
    if shards_done >= total:
        finish_run(sweep, "success")


def sweep_status() -> dict[str, dict[str, str]]:
    """Last run of each background job (services.job_runs)."""
    return last_runs()


def cleanup_alerts(retention_days: int) -> int:
    """Delete resolved alerts untouched for the retention, with their history; an acknowledged alert
    is still unresolved (someone is working on it), so it stays however old it is."""
    cutoff = datetime.now(UTC) - timedelta(days=retention_days)
    old = sa.select(Alert.id).where(Alert.status == "resolved", Alert.updated_at < cutoff)
    db.session.execute(sa.delete(AlertHistory).where(AlertHistory.alert_id.in_(old)))
    deleted = cast(sa.CursorResult[Any], db.session.execute(sa.delete(Alert).where(Alert.id.in_(old)))).rowcount
    db.session.commit()
    return deleted
