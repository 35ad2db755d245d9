"""The WebSocket protocol and per-socket ordering, without a network: message parsing, frames,
and the delivery rule (backlog and held live messages merged by id; each message once per socket,
however many of its channels the socket follows)."""

from __future__ import annotations

import json

import pytest
from wsproto.frame_protocol import FrameDecoder, Opcode

from api.realtime.connection import Connection
from api.realtime.protocol import (
    ProtocolError,
    each_channel,
    last_id_for,
    parse_client_message,
    parse_query_last_id,
    parse_stream_id,
    text_frame,
)
from api.realtime.routes import origin_allowed
from api.realtime.streams import Item
from services.envelope import Envelope, envelope_channels, envelope_id, envelope_type, with_id


@pytest.mark.parametrize(
    "raw,field",
    [
        ("{", "message"),
        ("[]", "message"),
        ('{"type": "shout"}', "type"),
        ('{"type": "auth"}', "token"),
        ('{"type": "subscribe"}', "channel"),
        ('{"type": "subscribe", "channel": "learner:a", "last_id": "yesterday"}', "last_id"),
        ('{"type": "subscribe", "channel": "learner:a", "last_id": {"learner:a": 5}}', "last_id"),
        ('{"type": "subscribe", "channels": []}', "channels"),
        ('{"type": "subscribe", "channels": "learner:a"}', "channels"),
        ('{"type": "subscribe", "channels": ["learner:a", 7]}', "channels"),
        ('{"type": "subscribe", "channels": ["learner:a"], "last_id": "soon"}', "last_id"),
    ],
)
def test_bad_client_messages_name_the_field(raw, field):
    with pytest.raises(ProtocolError) as error:
        parse_client_message(raw)
    assert error.value.field == field


def test_a_subscribe_naming_several_channels_is_one_request_per_channel_with_its_own_resume_point():
    message = parse_client_message(
        '{"type": "subscribe", "channels": ["section:m", "section:s", "section:m"], "last_id": {"section:s": "5-0"}}'
    )
    assert [(m.kind, m.channel, m.last_id) for m in each_channel(message)] == [
        ("subscribe", "section:m", None),
        ("subscribe", "section:s", "5-0"),
    ]
    one = parse_client_message('{"type": "subscribe", "channel": "section:m", "last_id": "4-0"}')
    assert each_channel(one) == [one]


def test_binary_messages_are_refused():
    with pytest.raises(ProtocolError):
        parse_client_message(b'{"type": "ping"}')


def test_last_id_forms():
    assert parse_stream_id("1700000000000-12") == (1700000000000, 12)
    assert parse_stream_id("9-0") < parse_stream_id("10-0"), "ids compare as numbers, not strings"
    assert parse_query_last_id('{"learner:a": "5-0"}') == {"learner:a": "5-0"}
    assert parse_query_last_id("5-1") == "5-1" and parse_query_last_id(None) is None
    assert last_id_for({"learner:a": "5-0"}, "section:s") is None
    assert last_id_for("5-0", "learner:a") == "5-0"
    assert last_id_for("5-0", "section:s") == "5-0"  # ids are global: one id resumes every channel


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
def test_frames_decode_as_one_text_message(size):
    text = "x" * size
    decoder = FrameDecoder(client=True)  # a client reading what the server wrote
    decoder.receive_bytes(text_frame(text))
    frame = decoder.process_buffer()
    assert frame.opcode is Opcode.TEXT and frame.message_finished and bytes(frame.payload) == text.encode()


def test_envelope_type_reads_our_publisher_and_falls_back_to_json():
    assert envelope_type('{"id":"1-0","type":"alert","channel":"x"}') == "alert"
    assert envelope_type('{"channel": "x", "type": "activity", "id": "1-0"}') == "activity"
    assert envelope_type("not json") == ""


def test_origin_allow_list():
    assert origin_allowed(None, "api.example", ())  # not a browser
    assert origin_allowed("https://api.example", "api.example", ())  # same host
    assert not origin_allowed("https://evil.example", "api.example", ())
    assert origin_allowed("https://lms.example/", "api.example", ("https://lms.example",))
    assert origin_allowed("https://any.example", "api.example", ("*",))


class RecordingSocket:
    """Stands in for the WebSocket under a Connection: records the frames it was given."""

    def __init__(self) -> None:
        self.sock = self
        self.frames: list[bytes] = []
        self.closed_with: tuple[int, str] | None = None

    def close(self, code: int, reason: str = "") -> None:
        self.closed_with = (code, reason)

    def send(self, frame: bytes) -> int:
        self.frames.append(frame)
        return len(frame)

    def texts(self) -> list[dict]:
        out = []
        for frame in self.frames:
            decoder = FrameDecoder(client=True)
            decoder.receive_bytes(frame)
            out.append(json.loads(decoder.process_buffer().payload))
        return out


def message(channel: str, ms: int, kind: str = "activity", channels: tuple[str, ...] = ()) -> Item:
    """One copy of a message, as the hub hands it over: a message on several channels has one id."""
    channels = channels or (channel,)
    raw = json.dumps({"id": f"{ms}-0", "type": kind, "channel": channel, "data": {"n": ms}, "channels": channels})
    return Item((ms, 0), kind, text_frame(raw), channels)


def numbers(ws: RecordingSocket) -> list[int]:
    return [m["data"]["n"] for m in ws.texts()]


def test_resume_sends_backlog_then_held_live_messages_once_in_order():
    ws = RecordingSocket()
    connection = Connection(ws, queue_size=100)
    connection.hold(["learner:a"])
    for ms in (3, 4, 5):  # live messages arrive while the backlog is being read
        connection.offer("learner:a", message("learner:a", ms))
    connection.release({"learner:a": (1, 0)}, [message("learner:a", ms) for ms in (2, 3, 4)])
    connection.offer("learner:a", message("learner:a", 5))  # a late duplicate
    connection.offer("learner:a", message("learner:a", 6))
    connection.offer("learner:b", message("learner:b", 7))  # not followed
    connection.close()
    connection.run_sender()
    assert numbers(ws) == [2, 3, 4, 5, 6]


def test_a_message_on_two_followed_channels_is_delivered_once():
    """An educator's two sections share a learner: the hub offers her message once per section."""
    ws = RecordingSocket()
    connection = Connection(ws, queue_size=100)
    connection.hold(["section:m", "section:s"])
    connection.release({"section:m": (1, 0), "section:s": (1, 0)}, [])
    both = ("learner:a", "section:m", "section:s")
    for ms, channels in ((2, both), (3, ("learner:b", "section:m")), (4, both)):
        for channel in channels[1:]:
            connection.offer(channel, message(channel, ms, channels=channels))
    connection.close()
    connection.run_sender()
    assert numbers(ws) == [2, 3, 4]
    assert [m["channel"] for m in ws.texts()] == ["section:m", "section:m", "section:m"]


def test_resume_across_two_channels_merges_their_backlogs_without_repeats():
    """Both backlogs hold the shared messages; a message the client already has on one channel (at or
    before its resume point there) but not on the other is sent, as the other channel's point says."""
    ws = RecordingSocket()
    connection = Connection(ws, queue_size=100)
    both = ("section:m", "section:s")
    connection.hold(list(both))
    connection.offer("section:m", message("section:m", 9, channels=both))  # live while replaying
    connection.offer("section:s", message("section:s", 9, channels=both))
    backlog_m = [message("section:m", ms, channels=both) for ms in (5, 7, 9)]
    backlog_s = [message("section:s", ms, channels=both) for ms in (4, 5, 7, 9)] + [message("section:s", 8)]
    connection.release({"section:m": (4, 0), "section:s": (3, 0)}, backlog_m + backlog_s)
    connection.offer("section:m", message("section:m", 9, channels=both))  # late duplicates
    connection.offer("section:s", message("section:s", 8))
    connection.offer("section:s", message("section:s", 10, channels=both))
    connection.offer("section:m", message("section:m", 10, channels=both))
    connection.close()
    connection.run_sender()
    assert numbers(ws) == [4, 5, 7, 8, 9, 10]


def test_a_later_subscription_replays_only_what_the_socket_has_not_had():
    """On /ws a channel added later replays its backlog; messages the socket already got through a
    channel it followed before are skipped, older ones (before that channel's start) are sent."""
    ws = RecordingSocket()
    connection = Connection(ws, queue_size=100)
    both = ("section:m", "section:s")
    connection.hold(["section:m"])
    connection.release({"section:m": (5, 0)}, [])  # fresh: starts at the stream's end
    connection.offer("section:m", message("section:m", 6, channels=both))
    connection.offer("section:m", message("section:m", 7))
    connection.hold(["section:s"])
    connection.offer("section:m", message("section:m", 8))  # waits: a replay is in progress
    backlog_s = [message("section:s", ms, channels=both) for ms in (4, 6)]
    connection.release({"section:s": (2, 0)}, backlog_s)
    connection.close()
    connection.run_sender()
    assert numbers(ws) == [6, 7, 4, 8]


def test_live_messages_piling_up_behind_a_replay_close_the_client_as_too_slow():
    ws = RecordingSocket()
    connection = Connection(ws, queue_size=2)
    connection.hold(["learner:a"])
    for ms in range(1, 20):
        connection.offer("learner:a", message("learner:a", ms))
    assert connection.closing and len(connection.pending) == 8
    connection.run_sender()
    assert [m["data"]["code"] for m in ws.texts()] == ["too_slow"] and ws.closed_with == (4410, "too slow")


def test_copies_on_learner_channels_that_list_only_their_own_learner_are_delivered_once():
    """An exam announced to a class: each learner's copy lists the section and that learner only. A
    socket following two of the learners gets it once, and both channels count it as delivered."""
    ws = RecordingSocket()
    connection = Connection(ws, queue_size=100)
    connection.hold(["learner:a", "learner:b"])
    connection.release({"learner:a": (1, 0), "learner:b": (1, 0)}, [])
    for learner in ("learner:a", "learner:b"):
        connection.offer(learner, message(learner, 5, "exam_created", ("section:s", learner)))
    assert connection.cursors == {"learner:a": (5, 0), "learner:b": (5, 0)}
    connection.hold(["section:s"])  # a replay of the section: the exam is not sent again
    connection.release({"section:s": (1, 0)}, [message("section:s", 5, "exam_created", ("section:s", "learner:a"))])
    connection.close()
    connection.run_sender()
    assert numbers(ws) == [5]


def test_envelope_channels_are_read_from_the_last_field():
    raw = with_id(
        "5-0",
        Envelope("alert", "section:b", {"text": ',"channels":["x"]'}, channels=["a", "section:b"]).encode_without_id(),
    )
    assert envelope_channels(raw, "section:b") == ("a", "section:b")
    assert envelope_channels('{"id":"5-0","type":"x","channel":"c"}', "c") == ("c",)


def test_type_filter_and_overflow_close_the_connection_with_a_reason():
    """Live messages past the queue: what waits is discarded, the client is told why and closed with 4410."""
    ws = RecordingSocket()
    connection = Connection(ws, queue_size=2, types=frozenset({"alert"}))
    connection.hold(["learner:a"])
    connection.release({"learner:a": (0, 0)}, [])
    connection.offer("learner:a", message("learner:a", 1, "metrics_update"))  # filtered out
    for ms in (2, 3, 4, 5):
        connection.offer("learner:a", message("learner:a", ms, "alert"))
    assert connection.closing and not connection.dropped
    connection.run_sender()
    texts = ws.texts()
    assert [m["type"] for m in texts] == ["error"] and texts[0]["data"]["code"] == "too_slow"
    assert ws.closed_with == (4410, "too slow")


def test_replies_wait_for_room_instead_of_counting_as_slow():
    """A client's own requests are answered even when more replies than the queue holds are due."""
    ws = RecordingSocket()
    connection = Connection(ws, queue_size=2)
    connection.start()
    for n in range(20):
        connection.reply(json.dumps({"type": "pong", "data": {"n": n}}))
    connection.close()
    assert not connection.dropped and [m["data"]["n"] for m in ws.texts()] == list(range(20))


def test_the_envelope_round_trips_with_its_id_first_and_type_second():
    encoded = Envelope("alert", "learner:a", {"rule": "x", "n": 1.5}, "2026-01-01T00:00:00+00:00").encode_without_id()
    raw = with_id("1700000000000-3", encoded)
    assert json.loads(raw) == {
        "id": "1700000000000-3",
        "type": "alert",
        "channel": "learner:a",
        "timestamp": "2026-01-01T00:00:00+00:00",
        "data": {"rule": "x", "n": 1.5},
        "channels": ["learner:a"],
    }
    assert envelope_id(raw) == "1700000000000-3" and envelope_type(raw) == "alert"


def test_the_lua_publisher_splices_the_id_exactly_as_with_id(redis_url):
    """The Lua splice and with_id are two writings of one rule: run the Lua on a real Redis and compare."""
    import redis as redis_lib

    from services.envelope import LUA_SPLICE

    body = Envelope("activity", "section:s1", {"k": "v"}).encode_without_id()
    lua = f"local id, body = ARGV[1], ARGV[2]\nreturn {LUA_SPLICE}"
    spliced = redis_lib.Redis.from_url(redis_url).eval(lua, 0, "5-0", body)
    assert spliced.decode() == with_id("5-0", body)


def test_the_lua_publisher_builds_each_channels_copy_exactly_as_python(redis_url):
    """LUA_BODY and body_without_id are two writings of one rule, names with quotes and accents included."""
    import redis as redis_lib

    from services.envelope import LUA_BODY, body_without_id, dumps, envelope_parts

    head, tail = envelope_parts("grade_update", dumps({"k": "vé"}), "2026-01-01T00:00:00+00:00")
    channel, channels = dumps('learner:Zoë "Z"'), dumps(['learner:Zoë "Z"', "section:a/b"])
    lua = f"local head, tail, channel_json, channels_json = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\nreturn {LUA_BODY}"
    built = redis_lib.Redis.from_url(redis_url).eval(lua, 0, head, tail, channel, channels)
    assert built.decode() == body_without_id(head, tail, channel, channels)
    assert json.loads(built)["channels"] == ['learner:Zoë "Z"', "section:a/b"]
