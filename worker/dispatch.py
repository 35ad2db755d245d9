"""Enqueue evaluations, coalesced per learner by a pending flag in Redis (no fixed delay)."""
from __future__ import annotations

import logging
from typing import Iterable

import redis
from celery import current_app as current_celery
from flask import current_app
from kombu.exceptions import OperationalError

PENDING_KEY = "learnpulse:evaluation-pending:{}"
# Sets each learner's pending flag if absent; returns the 1-based positions it set. One command
# for a whole batch: packing a thousand separate SETs costs more than the evaluation request itself.
CLAIM_PENDING = """
local claimed = {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, '1', 'NX', 'EX', ARGV[1]) then claimed[#claimed + 1] = i end
end
return claimed
"""
PENDING_TTL_SECONDS = 300  # a lost task must not block a learner's evaluations for longer than this
TASK_CHUNK = 500
log = logging.getLogger(__name__)


def redis_client() -> redis.Redis:
    """The app's shared Redis client."""
    return current_app.extensions["redis"]


def request_evaluation(learner_ids: Iterable[int]) -> list[int]:
    """Enqueue one evaluation for learners that have none pending; returns those enqueued.

    The first event of a learner sets the flag and enqueues; later events find the flag and
    join that pending evaluation, which clears the flag before it reads the database.
    """
    ids = sorted(set(learner_ids))
    if not ids:
        return []
    try:
        client = redis_client()
        claim = current_app.extensions.setdefault("claim_pending", client.register_script(CLAIM_PENDING))
        positions = claim(keys=[PENDING_KEY.format(learner_id) for learner_id in ids], args=[PENDING_TTL_SECONDS])
        newly = [ids[position - 1] for position in positions]
        for start in range(0, len(newly), TASK_CHUNK):
            current_celery.send_task("learnpulse.evaluate_learners", args=[newly[start:start + TASK_CHUNK]])
    except (redis.RedisError, OperationalError) as exc:
        # The events are committed; the next sweep or event evaluates these learners.
        log.warning("could not enqueue evaluation of %d learner(s): %s", len(ids), exc)
        return []
    return newly


def clear_pending(learner_ids: Iterable[int]) -> None:
    """Let new events enqueue again; called before the evaluation reads anything."""
    keys = [PENDING_KEY.format(learner_id) for learner_id in learner_ids]
    if keys:
        redis_client().delete(*keys)
