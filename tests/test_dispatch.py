"""Evaluation hand-over against a real Redis: claimed learners stay held until their drain finishes,
a redelivered drain takes its learners back, an expired lease puts them back in the pending set."""

from __future__ import annotations

from services.dispatch import (
    LEASES,
    PENDING_SET,
    PROCESSING,
    SCHEDULED_KEY,
    claim_batch,
    finish_batch,
    queue_evaluation,
    recover_expired,
    request_evaluation,
    requeue_expired,
)
from services.redis_trip import RoundTrip
from tests.conftest import UNIT_QUEUE


def pending(app) -> set[int]:
    return {int(i) for i in app.extensions["redis"].smembers(PENDING_SET)}


def test_a_claimed_batch_is_held_until_its_drain_finishes(app):
    client = app.extensions["redis"]
    client.sadd(PENDING_SET, *range(1, 8))
    first = claim_batch("drain-a", limit=5)
    second = claim_batch("drain-b", limit=5)
    assert len(first) == 5 and len(second) == 2 and not set(first) & set(second)
    assert pending(app) == set() and client.scard(PROCESSING + "drain-a") == 5
    assert requeue_expired() == 0  # leases still running: nothing moves
    finish_batch("drain-a")
    assert not client.exists(PROCESSING + "drain-a") and client.zscore(LEASES, "drain-a") is None
    assert client.zscore(LEASES, "drain-b") is not None


def test_a_redelivered_drain_takes_back_what_it_held(app):
    client = app.extensions["redis"]
    client.sadd(PENDING_SET, 1, 2, 3)
    held = claim_batch("drain-a", limit=2)  # then its worker process dies
    client.sadd(PENDING_SET, 9)
    again = claim_batch("drain-a", limit=3)  # Celery redelivers the same task (same id)
    assert set(held) < set(again) and len(again) == 3 and not pending(app) & set(again)


def test_an_expired_lease_goes_back_to_pending_and_a_drain_is_scheduled(make_app):
    app = make_app(EVALUATION_LEASE_SECONDS=0)  # expires at once, as if its worker died long ago
    with app.app_context():
        client = app.extensions["redis"]
        client.sadd(PENDING_SET, 1, 2, 3)
        assert claim_batch("dead-drain") == [1, 2, 3]
        client.delete(SCHEDULED_KEY)
        assert recover_expired() == 3
        assert pending(app) == {1, 2, 3} and not client.exists(PROCESSING + "dead-drain")
        assert client.zcard(LEASES) == 0
        assert client.llen(UNIT_QUEUE) == 1  # a drain was scheduled for them
        assert recover_expired() == 0 and client.llen(UNIT_QUEUE) == 1


def test_requests_survive_a_script_cache_flush_and_schedule_one_drain(app):
    """The evaluation request goes by EVALSHA inside a shared pipeline; after Redis forgot its scripts
    (a restart, SCRIPT FLUSH) the script is loaded and run, not lost."""
    client = app.extensions["redis"]
    client.script_flush()
    assert request_evaluation([3, 1, 2]) is True  # first request: schedules the drain
    client.script_flush()
    assert request_evaluation([2, 4]) is False  # a drain is already scheduled
    assert pending(app) == {1, 2, 3, 4} and client.llen(UNIT_QUEUE) == 1


def test_one_round_trip_carries_several_callers_commands(app):
    client = app.extensions["redis"]
    client.zadd("learnpulse:watched", {"learner:amy": 10**15})
    trip = RoundTrip(client)
    first = trip.add(lambda pipe: pipe.zmscore("learnpulse:watched", ["learner:amy", "learner:bob"]))
    schedule = queue_evaluation(trip, [7])
    assert trip.replies == []  # nothing sent before execute
    trip.execute()
    assert trip.replies[first] == [10.0**15, None] and schedule() is True and pending(app) == {7}
