"""The publisher: one envelope shape, one global id per message, appended to a bounded stream per
channel and published live."""

from __future__ import annotations

import json

import pytest
import redis

from api.realtime.protocol import parse_stream_id
from services.channels import LAST_ID_KEY, PUBSUB_PREFIX, STREAM_KEY, WATCHED_KEY, watch
from services.publisher import publish


def messages_of(client, channel: str) -> list[tuple[str, dict]]:
    """(id, envelope without id) of each message in a channel's stream, start entry left out."""
    return [
        (entry_id.decode(), json.loads(fields[b"m"]))
        for entry_id, fields in client.xrange(STREAM_KEY.format(channel))
        if b"m" in fields
    ]


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
    stream = messages_of(client, channel)
    assert [m["id"] for m in received] == [entry_id for entry_id, _ in stream]
    assert received[0] == {
        "id": received[0]["id"],
        "type": "alert",
        "channel": channel,
        "timestamp": received[0]["timestamp"],
        "data": {"rule": "r", "value": 1.5},
        "channels": [channel],
    }
    assert stream[1][1] == {k: v for k, v in received[1].items() if k != "id"}
    client.delete(STREAM_KEY.format(channel))


def test_a_message_on_several_channels_has_one_id_on_all_and_ids_are_in_one_order(app):
    client = app.extensions["redis"]
    a, b, quiet = "section:one-a", "section:one-b", "learner:one-unwatched"
    watch(client, [a, b])
    assert publish(client, [("grade_update", [a, b, quiet], {"n": 1}), ("activity", b, {"n": 2})]) == 2
    assert publish(client, [("activity", [a, a], {"n": 3})]) == 1  # a channel named twice gets it once
    on_a, on_b = messages_of(client, a), messages_of(client, b)
    assert on_a[0][0] == on_b[0][0], "one message, one id on every channel"
    assert on_a[0][1]["channels"] == on_b[0][1]["channels"] == [a, b], "only the channels it was appended to"
    assert (on_a[0][1]["channel"], on_b[0][1]["channel"]) == (a, b)
    ids = [parse_stream_id(i) for i in (on_a[0][0], on_b[1][0], on_a[1][0])]
    assert ids == sorted(ids) and len(set(ids)) == 3, "ids of all channels are in one order"
    assert [m["data"]["n"] for _, m in on_a] == [1, 3]
    client.delete(STREAM_KEY.format(a), STREAM_KEY.format(b))


def test_a_learners_copy_does_not_name_the_other_learners(app):
    client = app.extensions["redis"]
    section, ann, bob = "section:class-9b", "learner:class-ann", "learner:class-bob"
    watch(client, [section, ann, bob])
    publish(client, [("exam_created", [section, ann, bob], {"exam": "X1"})])
    lists = {channel: messages_of(client, channel)[-1][1]["channels"] for channel in (section, ann, bob)}
    assert lists == {section: [section, ann, bob], ann: [section, ann], bob: [section, bob]}
    client.delete(*[STREAM_KEY.format(c) for c in (section, ann, bob)])


def test_ids_stay_one_per_message_when_the_id_key_was_lost(app):
    """If the id key disappears while a stream keeps a later id, the message moves past it everywhere."""
    client = app.extensions["redis"]
    a, b = "section:lost-a", "section:lost-b"
    watch(client, [a, b])
    publish(client, [("activity", [a, b], {"n": 1})])
    top = messages_of(client, b)[-1][0]
    ms, seq = parse_stream_id(top)
    client.xadd(STREAM_KEY.format(b), {"m": "{}"}, id=f"{ms + 60_000}-{seq}")  # from a clock a minute ahead
    client.delete(LAST_ID_KEY)
    assert publish(client, [("activity", [a, b], {"n": 2})]) == 1
    (id_a, message_a), (id_b, _) = messages_of(client, a)[-1], messages_of(client, b)[-1]
    assert id_a == id_b and parse_stream_id(id_a) > (ms + 60_000, seq) and message_a["data"] == {"n": 2}
    assert [m["data"]["n"] for _, m in messages_of(client, a)] == [1, 2], "the half-done append was undone"
    client.delete(STREAM_KEY.format(a), STREAM_KEY.format(b))


def test_unknown_message_types_are_a_programming_error(app):
    with pytest.raises(ValueError):
        publish(app.extensions["redis"], [("gossip", "learner:x", {})])


def test_unwatched_channels_cost_nothing_and_streams_expire_with_their_watch(app):
    client = app.extensions["redis"]
    watched, unwatched = "learner:watched", "learner:nobody-looks"
    watch(client, [watched], seconds=60)
    sent = [("activity", channel, {"n": 1}) for channel in (watched, unwatched)]
    assert publish(client, sent) == 1
    assert len(messages_of(client, watched)) == 1 and not client.exists(STREAM_KEY.format(unwatched))
    ttl = client.pttl(STREAM_KEY.format(watched))
    assert 0 < ttl <= 60_000, "a stream never outlives its channel's watch"
    watch(client, [watched], seconds=120)
    assert 60_000 < client.pttl(STREAM_KEY.format(watched)) <= 120_000, "and lasts as long as the watch"
    watch(client, [watched], seconds=-1)  # the watch lapses: later messages are neither streamed nor published
    assert publish(client, sent) == 0 and client.zscore(WATCHED_KEY, watched) is None
    assert not client.exists(STREAM_KEY.format(watched))


def test_watching_starts_a_stream_so_a_quiet_channel_has_a_resume_point(app):
    client = app.extensions["redis"]
    channel = "section:quiet-start"
    watch(client, [channel])
    ((start_id, fields),) = client.xrange(STREAM_KEY.format(channel))
    assert fields == {b"start": b"1"} and not messages_of(client, channel)
    watch(client, [channel])
    assert client.xlen(STREAM_KEY.format(channel)) == 1, "started once"
    client.delete(STREAM_KEY.format(channel))


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


@pytest.mark.parametrize("count", [1, 7, 5001])
def test_queue_watched_tells_what_zmscore_tells(app, count):
    """The look-up a batch shares its round trip with answers for every channel as ZMSCORE does (a score,
    even a lapsed one, is watched), over more channels than one script call takes."""
    from services.publisher import WATCHED_AMONG_CHUNK, queue_watched  # noqa: PLC0415
    from services.redis_trip import RoundTrip  # noqa: PLC0415

    client = app.extensions["redis"]
    channels = [f"learner:n{n}" for n in range(count)] + ["learner:odd%1 name", "section:s1"]
    watch(client, channels[::3], seconds=60)
    watch(client, channels[1::5], seconds=-1)  # lapsed: still in the set until the next watch() cleans it
    trip = RoundTrip(client)
    known = queue_watched(trip, [*channels, channels[0]])
    trip.execute()
    expected = {
        name: score is not None for name, score in zip(sorted(channels), client.zmscore(WATCHED_KEY, sorted(channels)))
    }
    assert known() == expected and list(known()) == sorted(channels)
    assert any(expected.values()) and not all(expected.values())
    assert count < WATCHED_AMONG_CHUNK or len(trip.replies) == 2
