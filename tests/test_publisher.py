"""The publisher: one envelope shape, appended to a bounded per-channel stream and published live."""

from __future__ import annotations

import json

import pytest
import redis

from services.channels import PUBSUB_PREFIX, STREAM_KEY, WATCHED_KEY, watch
from services.publisher import publish


def test_messages_are_streamed_and_published_with_their_stream_id(app):
    client = app.extensions["redis"]
    channel = "learner:odd%1 name"  # external ids may hold characters Lua patterns treat specially
    subscriber = redis.Redis.from_url(app.config["REDIS_URL"]).pubsub()
    subscriber.subscribe(PUBSUB_PREFIX + channel)
    subscriber.get_message(timeout=1)
    watch(client, [channel])
    assert (
        publish(client, [("alert", channel, {"rule": "r", "value": 1.5}), ("metrics_update", channel, {"k": [1]})]) == 2
    )
    received = [json.loads(subscriber.get_message(timeout=2)["data"]) for _ in range(2)]
    stream = client.xrange(STREAM_KEY.format(channel))
    assert [m["id"] for m in received] == [entry_id.decode() for entry_id, _ in stream]
    assert received[0] == {
        "id": received[0]["id"],
        "type": "alert",
        "channel": channel,
        "timestamp": received[0]["timestamp"],
        "data": {"rule": "r", "value": 1.5},
    }
    assert json.loads(stream[1][1][b"m"]) == {k: v for k, v in received[1].items() if k != "id"}
    client.delete(STREAM_KEY.format(channel))


def test_unknown_message_types_are_a_programming_error(app):
    with pytest.raises(ValueError):
        publish(app.extensions["redis"], [("gossip", "learner:x", {})])


def test_unwatched_channels_cost_nothing_and_streams_expire_with_their_watch(app):
    client = app.extensions["redis"]
    watched, unwatched = "learner:watched", "learner:nobody-looks"
    watch(client, [watched], seconds=60)
    sent = [("activity", channel, {"n": 1}) for channel in (watched, unwatched)]
    assert publish(client, sent) == 1
    assert client.xlen(STREAM_KEY.format(watched)) == 1 and not client.exists(STREAM_KEY.format(unwatched))
    ttl = client.pttl(STREAM_KEY.format(watched))
    assert 0 < ttl <= 60_000, "a stream never outlives its channel's watch"
    watch(client, [watched], seconds=-1)  # the watch lapses: later messages are neither streamed nor published
    assert publish(client, sent) == 0 and client.zscore(WATCHED_KEY, watched) is None
    client.delete(STREAM_KEY.format(watched))


def test_the_shared_client_waits_for_a_connection_instead_of_failing(app):
    """150 callers at once, each holding a connection for 0.2 s: redis-py's default pool would refuse
    the 101st ("Too many connections"); ours makes it wait."""
    import threading

    from services.clients import REDIS_POOL_SIZE, shared_redis

    client = shared_redis(app.config["REDIS_URL"])
    errors: list[Exception] = []

    def hold() -> None:
        try:
            client.blpop(["learnpulse:test:never-pushed"], timeout=0.2)
        except redis.RedisError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=hold) for _ in range(150)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert client.connection_pool.max_connections == REDIS_POOL_SIZE
