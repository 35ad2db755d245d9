"""Celery tasks: thin wrappers that load by id, compute, persist. Retry policy: services.clients.FlaskTask."""

from __future__ import annotations

import time
import uuid
from typing import Any

from celery import group, shared_task
from flask import current_app

from services.achievements import award_achievements
from services.analytics_data import load_event_arrays
from services.cohorts import COHORT_SHARD_SECTIONS, section_shards
from services.digests import advance_watermark, counter_event_ids, store_digests
from services.dispatch import claim_batch, finish_batch, recover_expired, requeue_expired, start_drain
from services.evaluation import update_learner_counters
from services.job_runs import recorded_run
from services.model_training import train_and_store_risk_model
from services.monitoring import build_inputs, evaluate_rules, shard_ranges, store_snapshots
from services.presence_rebuild import check_presence
from services.scheduled_jobs import daily_models
from services.skill_refit import fit_and_store_skill_models, skill_shards
from services.sweeps import (
    claim_window,
    cleanup_alerts,
    run_daily_cohort_shard,
    run_daily_shard,
    run_daily_skill_shard,
    run_shard,
    shard_size,
    window_of,
)
from worker.sweeps import start_sweep


@shared_task(name="learnpulse.evaluate_learners", max_retries=8)
def evaluate_learners(learner_ids: list[int], started_by: str | None = None) -> dict[str, int]:
    """Refresh counters, evaluate the score rules, store and publish fresh metrics, award achievements.
    `started_by` (api: POST analytics/generate) records the run for `flask monitoring status`; the
    continuous event-driven evaluations are not recorded."""
    if started_by is None:
        return _evaluate(learner_ids)
    with recorded_run("evaluation", started_by, learners=len(set(learner_ids))) as run:
        run.update(_evaluate(learner_ids))
    return run


def _evaluate(learner_ids: list[int]) -> dict[str, int]:
    updated = update_learner_counters(learner_ids)
    ids, now = sorted(set(learner_ids)), time.time()
    newest = counter_event_ids(ids)  # read before the events: a later event only makes the digest stale
    events, module_ids = load_event_arrays(ids)  # read once for rules, snapshots, digests and achievements
    inputs = build_inputs(ids, now, events=events, module_ids=module_ids)
    # what the periodic sweeps and the learner reports read instead of the event log
    store_digests(ids, events, newest, now, inputs.modules_left, module_ids)
    stats = evaluate_rules(ids, "performance", prepared=inputs)
    store_snapshots(ids, "event", publish_updates=True, prepared=inputs)
    achieved = award_achievements(ids, events, module_ids)
    return {
        "learners": updated,
        "alerts_created": stats.created,
        "alerts_resolved": stats.resolved,
        "achievements": len(achieved),
    }


@shared_task(name="learnpulse.evaluate_pending", bind=True, max_retries=8)
def evaluate_pending(self) -> dict[str, int]:
    """Drain the learners that new events touched, a vectorized batch at a time. The task id names
    the drain's lease, so a redelivery or retry of this task takes back the learners it held."""
    token = self.request.id or uuid.uuid4().hex
    start_drain()
    requeue_expired()
    learners = batches = 0
    while ids := claim_batch(token):
        evaluate_learners.run(ids)
        finish_batch(token)  # evaluate_learners committed: only now may they leave the drain
        learners, batches = learners + len(ids), batches + 1
    return {"learners": learners, "batches": batches}


@shared_task(name="learnpulse.train_risk_model", max_retries=3)
def train_risk_model() -> dict[str, object]:
    """Retrain the risk model on learners with an outcome; the new version is used from then on."""
    version = train_and_store_risk_model()
    return {
        "version": version.id,
        "kind": version.kind,
        "samples": version.samples,
        "roc_auc": version.quality.get("roc_auc"),
    }


@shared_task(name="learnpulse.fit_skill_models", max_retries=3)
def fit_skill_models() -> dict[str, int]:
    """Refit every skill's BKT parameters by EM and rebuild mastery from history with them."""
    return {"skills": fit_and_store_skill_models()}


@shared_task(name="learnpulse.monitoring.sweep", bind=True, max_retries=5)
def monitoring_sweep(self, sweep: str) -> dict[str, object]:
    """Periodic sweep coordinator: claim this window, fan out shards; also the periodic re-queue of
    evaluations whose drain died (the next event's drain would do it too, but events may stop)."""
    recover_expired()
    return start_sweep(sweep, monitoring_shard, owner=self.request.id or "direct")


@shared_task(name="learnpulse.monitoring.shard", max_retries=5)
def monitoring_shard(sweep: str, low: int, high: int, window: int) -> dict[str, object]:
    """One range of learners of a sweep."""
    return run_shard(sweep, low, high, window)


@shared_task(name="learnpulse.analytics.daily", bind=True, max_retries=3)
def daily_analytics(self) -> dict[str, object]:
    """02:00 UTC: services.scheduled_jobs.daily_models, its BKT refit, learner snapshots and cohort snapshots
    fanned out as shards any worker takes (the risk model is retrained here meanwhile)."""
    window = window_of("daily")
    if not claim_window("daily", window, owner=self.request.id or "direct"):
        return {"skipped": "already ran today"}
    ranges = shard_ranges(shard_size())

    def fan_out_skills() -> dict[str, int]:
        shards = skill_shards()
        group(daily_skill_shard.s(i, names, besides, window) for i, (names, besides) in enumerate(shards)).apply_async()
        return {"skill_shards": len(shards)}

    def fan_out() -> dict[str, int]:
        since = advance_watermark()
        if ranges:
            group(daily_snapshot_shard.s(low, high, since, window) for low, high in ranges).apply_async()
        return {"snapshot_shards": len(ranges)}

    def fan_out_cohorts() -> dict[str, int]:
        shards = section_shards(COHORT_SHARD_SECTIONS)
        if shards:
            group(daily_cohort_shard.s(sections, window) for sections in shards).apply_async()
        return {"cohorts": sum(map(len, shards)), "cohort_shards": len(shards)}

    with recorded_run("daily", "beat", shards=len(ranges)) as run:
        daily_models(run, fan_out_skills, fan_out, fan_out_cohorts)
    return run


@shared_task(name="learnpulse.analytics.daily_skill_shard", max_retries=5)
def daily_skill_shard(index: int, skills: list[str], besides: list[str] | None, window: int) -> dict[str, object]:
    """One shard of the daily BKT refit: these skills (and with `besides`, every skill not in it)."""
    return run_daily_skill_shard(index, skills, besides, window)


@shared_task(name="learnpulse.analytics.daily_shard", max_retries=5)
def daily_snapshot_shard(low: int, high: int, since: int, window: int) -> dict[str, object]:
    """One range of learners' daily metric snapshots."""
    return run_daily_shard(low, high, since, window)


@shared_task(name="learnpulse.analytics.daily_cohort_shard", max_retries=5)
def daily_cohort_shard(sections: list[Any], window: int) -> dict[str, object]:
    """One shard of sections' daily cohort snapshots ([section id, course id] pairs)."""
    return run_daily_cohort_shard([(int(s), c) for s, c in sections], window)


@shared_task(name="learnpulse.alerts.cleanup", max_retries=3)
def alerts_cleanup() -> dict[str, int]:
    """Weekly: delete resolved alerts past the retention period (acknowledged ones stay)."""
    with recorded_run("alert_cleanup", "beat") as run:
        run["deleted"] = cleanup_alerts(current_app.config["ALERT_RETENTION_DAYS"])
    return run


@shared_task(name="learnpulse.presence.check", max_retries=3)
def presence_check() -> dict[str, Any]:
    """Every few minutes: rebuild the presence set from the event log if it is not trusted (services.presence_rebuild)."""
    return check_presence()
