"""Request evaluations without a fixed delay, coalesced under load, handed over at least once.

A request adds its learners to a Redis set; the first request while no drain is scheduled also
enqueues one `evaluate_pending` task. That task clears the scheduled flag, then claims pending
learners in batches and evaluates each batch vectorized. Events arriving meanwhile join the set
and schedule the next drain, so a burst of 500 events for 500 learners costs a few tasks, not 500.

Several workers can drain at once: a claim moves learners atomically (Lua) from the pending set
into the drain's own processing set, leased for EVALUATION_LEASE_SECONDS, and they leave it only
after their evaluation committed. A drain whose worker dies keeps its learners: the same task
redelivered (Celery requeues it, same id) takes its processing set back at once, and a lease that
expires (the whole worker died) is put back into the pending set by the next drain or by the next
monitoring sweep. Evaluations recompute, so evaluating a learner twice is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import redis
from celery import current_app as current_celery
from flask import current_app
from kombu.exceptions import OperationalError

from services.clients import app_script, redis_client
from services.redis_trip import RoundTrip

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
LEASES = "learnpulse:evaluation:leases"  # sorted set: drain token -> lease expiry (Redis time, seconds)
PROCESSING = "learnpulse:evaluation:processing:"  # + drain token: the set of learners that drain holds
# Move up to ARGV[2] pending learners into this drain's processing set (topped up to that size: a
# redelivered drain first takes back what it held) and renew its lease; return the whole set.
CLAIM = """
local now = tonumber(redis.call('TIME')[1])
local room = tonumber(ARGV[2]) - redis.call('SCARD', KEYS[3])
if room > 0 then
  local ids = redis.call('SPOP', KEYS[1], room)
  if #ids > 0 then redis.call('SADD', KEYS[3], unpack(ids)) end
end
local held = redis.call('SMEMBERS', KEYS[3])
if #held > 0 then redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1]) end
return held
"""
# Put the learners of every expired lease back into the pending set; return how many moved.
# (The processing keys are derived from the tokens inside the script: fine on one Redis server.)
REQUEUE_EXPIRED = """
local now = tonumber(redis.call('TIME')[1])
local moved = 0
for _, token in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  local held = ARGV[1] .. token
  moved = moved + redis.call('SCARD', held)
  redis.call('SUNIONSTORE', KEYS[1], KEYS[1], held)
  redis.call('DEL', held)
  redis.call('ZREM', KEYS[2], token)
end
return moved
"""
log = logging.getLogger(__name__)


def queue_evaluation(trip: RoundTrip, learner_ids: Iterable[int]) -> Callable[[], bool]:
    """Add learners to the pending set within `trip` (after the caller's commit); call the returned
    function once the trip has run: it sends the drain task if this request must schedule one."""
    ids = sorted(set(learner_ids))
    claim = app_script("add_and_claim", ADD_AND_CLAIM)
    replies = [  # Lua unpack() has a stack limit: 5,000 learners per call
        trip.add_script(claim, [PENDING_SET, SCHEDULED_KEY], [SCHEDULED_TTL_SECONDS, *ids[start : start + 5000]])
        for start in range(0, len(ids), 5000)
    ]

    def schedule() -> bool:
        claimed = [index for index in replies if trip.replies[index]]
        for _ in claimed:
            current_celery.send_task("learnpulse.evaluate_pending")
        return bool(claimed)

    return schedule


def run_with_evaluation(trip: RoundTrip, learner_ids: Iterable[int]) -> bool | None:
    """Run `trip` with these learners' evaluation request added to it (after the caller's commit): whether
    a drain task was sent, or None if Redis failed. Failures are logged, never raised: the events are
    committed, and the next sweep evaluates these learners."""
    ids = sorted(set(learner_ids))
    schedule = queue_evaluation(trip, ids) if ids else None
    try:
        trip.execute()
    except redis.RedisError as exc:
        log.warning("could not request evaluation of %d learner(s): %s", len(ids), exc)
        return None
    try:
        return schedule() if schedule is not None else False
    except OperationalError as exc:  # the broker
        log.warning("could not request evaluation of %d learner(s): %s", len(ids), exc)
        return False


def request_evaluation(learner_ids: Iterable[int]) -> bool:
    """Queue learners for evaluation (after the caller's commit); True if a drain task was sent."""
    ids = sorted(set(learner_ids))
    return bool(ids) and bool(run_with_evaluation(RoundTrip(redis_client()), ids))


def start_drain() -> None:
    """Let new events schedule another drain; called before the first claim."""
    redis_client().delete(SCHEDULED_KEY)


def claim_batch(token: str, limit: int = DRAIN_BATCH) -> list[int]:
    """This drain's learners to evaluate now: what it still holds (a redelivered drain), topped up
    from the pending set to `limit`; each pending learner goes to exactly one drain."""
    lease = int(current_app.config["EVALUATION_LEASE_SECONDS"])
    held = app_script("claim_batch", CLAIM)(keys=[PENDING_SET, LEASES, PROCESSING + token], args=[token, limit, lease])
    return sorted(int(i) for i in held)


def finish_batch(token: str) -> None:
    """The batch's evaluation committed: release the drain's learners and its lease."""
    redis_client().pipeline(transaction=True).delete(PROCESSING + token).zrem(LEASES, token).execute()


def requeue_expired() -> int:
    """Put the learners of drains whose lease expired (their worker died) back into the pending set."""
    moved = int(app_script("requeue_expired", REQUEUE_EXPIRED)(keys=[PENDING_SET, LEASES], args=[PROCESSING]))
    if moved:
        log.warning("re-queued %d learner(s) whose drain stopped before evaluating them", moved)
    return moved


def recover_expired() -> int:
    """Periodic safety net: re-queue expired leases and schedule a drain for them if none is scheduled."""
    moved = requeue_expired()
    if moved and redis_client().set(SCHEDULED_KEY, "1", nx=True, ex=SCHEDULED_TTL_SECONDS):
        current_celery.send_task("learnpulse.evaluate_pending")
    return moved
