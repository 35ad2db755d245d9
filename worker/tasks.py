"""Celery tasks: thin wrappers that load by id, compute, persist."""
from __future__ import annotations

import redis
from celery import shared_task
from sqlalchemy.exc import OperationalError

from worker.dispatch import clear_pending
from worker.evaluation import update_learner_counters
from worker.model_training import fit_and_store_skill_models, train_and_store_risk_model

TRANSIENT = (OperationalError, redis.ConnectionError, redis.TimeoutError)


@shared_task(name="learnpulse.evaluate_learners", autoretry_for=TRANSIENT, retry_backoff=True,
             retry_backoff_max=60, max_retries=8)
def evaluate_learners(learner_ids: list[int]) -> dict[str, int]:
    """Evaluate learners after new events: refresh their counters and last-evaluated time."""
    clear_pending(learner_ids)
    return {"learners": update_learner_counters(learner_ids)}


@shared_task(name="learnpulse.train_risk_model", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3)
def train_risk_model() -> dict[str, object]:
    """Retrain the risk model on learners with an outcome; the new version is used from then on."""
    version = train_and_store_risk_model()
    return {"version": version.id, "kind": version.kind, "samples": version.samples,
            "roc_auc": version.quality.get("roc_auc")}


@shared_task(name="learnpulse.fit_skill_models", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3)
def fit_skill_models() -> dict[str, int]:
    """Refit every skill's BKT parameters by EM and rebuild mastery from history with them."""
    return {"skills": fit_and_store_skill_models()}
