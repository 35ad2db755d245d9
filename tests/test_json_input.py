"""The JSON loader every request body and WebSocket frame goes through, without an app: what it
refuses, and the path it names."""

from __future__ import annotations

import pytest

from api.json_input import MAX_DEPTH, JsonInputError, loads
from api.realtime.protocol import ProtocolError, parse_client_message, parse_query_last_id


@pytest.mark.parametrize(
    "text,path,reason",
    [
        ("{oops", "body", "is not valid JSON"),
        (b'{"a": "\xff"}', "body", "is not valid JSON"),
        ('{"a": [1, {"b": NaN}]}', "a[1].b", "finite number"),
        ('{"a": Infinity}', "a", "finite number"),
        ('{"a": -Infinity}', "a", "finite number"),
        ('{"a": 1e400}', "a", "finite number"),
        ('{"a": ' + "9" * 400 + "}", "a", "finite number"),
        ('{"events": [{"learner": "x\\ud800"}]}', "events[0].learner", "surrogates"),
        ('{"id": "a\\u0000"}', "id", "NUL"),
        ('{"a": {"\\udfff": 1}}', "a", "key"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "body" + "[0]" * MAX_DEPTH, "deeper"),
        ("[" * 100_000, "body", "deeper"),
    ],
)
def test_refusals_name_the_path(text, path, reason):
    with pytest.raises(JsonInputError) as error:
        loads(text)
    assert error.value.path == path and reason in error.value.reason


def test_accepts_ordinary_documents():
    text = '{"events": [{"learner": "zoë 😀", "score": 12345678901234567890, "max_score": 1.5e3, "ok": true}]}'
    assert loads(text)["events"][0]["score"] == 12345678901234567890
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None  # exactly the limit is fine
    assert loads('"\\ud83d\\ude00"') == "😀"  # a surrogate pair is one character, not a lone surrogate


@pytest.mark.parametrize(
    "raw,field",
    [
        ("[" * 5000 + "]" * 5000, "message"),
        ('{"type": "ping", "x": ' + "[" * 40 + "]" * 40 + "}", "x" + "[0]" * 31),
        ('{"type": "subscribe", "channel": "learner:\\ud800"}', "channel"),
        ('{"type": "ping", "n": NaN}', "n"),
    ],
)
def test_websocket_frames_beyond_the_limits_are_fatal(raw, field):
    with pytest.raises(ProtocolError) as error:
        parse_client_message(raw)
    assert error.value.fatal and error.value.field == field


def test_a_bad_field_in_a_good_frame_is_not_fatal():
    with pytest.raises(ProtocolError) as error:
        parse_client_message('{"type": "shout"}')
    assert not error.value.fatal


def test_query_last_id_beyond_the_limits_names_last_id():
    with pytest.raises(ProtocolError) as error:
        parse_query_last_id("{" + '"a": {' * 50 + "}" * 51)
    assert error.value.field == "last_id"
