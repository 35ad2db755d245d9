"""Celery tasks: thin wrappers that load by id, compute, persist."""
from __future__ import annotations

import redis
from celery import shared_task
from sqlalchemy.exc import OperationalError

from worker.dispatch import clear_pending
from worker.evaluation import update_learner_counters

TRANSIENT = (OperationalError, redis.ConnectionError, redis.TimeoutError)


@shared_task(name="learnpulse.evaluate_learners", autoretry_for=TRANSIENT, retry_backoff=True,
             retry_backoff_max=60, max_retries=8)
def evaluate_learners(learner_ids: list[int]) -> dict[str, int]:
    """Evaluate learners after new events: refresh their counters and last-evaluated time."""
    clear_pending(learner_ids)
    return {"learners": update_learner_counters(learner_ids)}
