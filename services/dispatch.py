"""Request evaluations without a fixed delay, coalesced under load.

A request adds its learners to a Redis set; the first request while no drain is scheduled also
enqueues one `evaluate_pending` task. That task clears the scheduled flag, then pops pending
learners in batches and evaluates each batch vectorized. Events arriving meanwhile join the set
and schedule the next drain, so a burst of 500 events for 500 learners costs a few tasks, not 500.
Several workers can drain at once: SPOP hands each learner to exactly one of them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis
from celery import current_app as current_celery
from flask import current_app
from kombu.exceptions import OperationalError

from services.clients import redis_client

PENDING_SET = "learnpulse:evaluation:pending"
SCHEDULED_KEY = "learnpulse:evaluation:scheduled"
SCHEDULED_TTL_SECONDS = 120  # a lost drain task stops blocking new ones after this long
DRAIN_BATCH = 1000
# Add the learners; return 1 if this call must schedule a drain (none was scheduled).
ADD_AND_CLAIM = """
redis.call('SADD', KEYS[1], unpack(ARGV, 2))
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return 1 end
return 0
"""
log = logging.getLogger(__name__)


def request_evaluation(learner_ids: Iterable[int]) -> bool:
    """Queue learners for evaluation (after the caller's commit); True if a drain task was sent."""
    ids = sorted(set(learner_ids))
    if not ids:
        return False
    scheduled = False
    try:
        client = redis_client()
        claim = current_app.extensions.setdefault("add_and_claim", client.register_script(ADD_AND_CLAIM))
        for start in range(0, len(ids), 5000):  # Lua unpack() has a stack limit
            if claim(keys=[PENDING_SET, SCHEDULED_KEY], args=[SCHEDULED_TTL_SECONDS, *ids[start : start + 5000]]):
                current_celery.send_task("learnpulse.evaluate_pending")
                scheduled = True
    except (redis.RedisError, OperationalError) as exc:
        # The events are committed; the next sweep evaluates these learners.
        log.warning("could not request evaluation of %d learner(s): %s", len(ids), exc)
    return scheduled


def start_drain() -> None:
    """Let new events schedule another drain; called before the first pop."""
    redis_client().delete(SCHEDULED_KEY)


def pop_pending(limit: int = DRAIN_BATCH) -> list[int]:
    """Take up to `limit` pending learners; each is handed to exactly one caller."""
    return sorted(int(i) for i in redis_client().spop(PENDING_SET, limit) or [])
