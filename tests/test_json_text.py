"""compact_encoder writes exactly what json.JSONEncoder writes (stored fingerprints depend on every byte)."""

from __future__ import annotations

import json
import random

import pytest

from services.json_text import compact_encoder
from tests.xapi_data import scored, statement

VALUES = [
    statement(),
    scored("amy", 7.5, 10, context={"contextActivities": {"parent": [{"id": "https://x.org/m"}]}}),
    {"b": [1, 2.5, -0.0, 1e16, 1e-7, 2**70, True, False, None], "a": {"z": 'é\u2028"\\\n\t', "y": []}},
    {"ünï": "𝄞 emoji 😀", "n": 123456789.123456789, "e": {}, "l": [[], [{}]]},
    "a string",
    3.14,
    [],
]


def random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return rng.choice([rng.randint(-(2**64), 2**64), rng.random() * 10 ** rng.randint(-20, 20), True, None])
    if kind in (1, 2, 3):
        return "".join(chr(rng.choice([rng.randint(0, 0x7F), rng.randint(0x80, 0xD7FF), 0x1F600])) for _ in range(5))
    if kind in (4, 5):
        return {str(random_value(rng, 4)): random_value(rng, depth + 1) for _ in range(3)}
    return [random_value(rng, depth + 1) for _ in range(3)]


@pytest.mark.parametrize("sort_keys", [False, True])
@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_the_text_is_json_encoders(sort_keys, ensure_ascii):
    reference = json.JSONEncoder(sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=ensure_ascii)
    fast = compact_encoder(sort_keys=sort_keys, ensure_ascii=ensure_ascii)
    rng = random.Random(7)
    values = VALUES + [{str(i): random_value(rng)} for i in range(300)] + [float("inf"), {"n": float("nan")}]
    for value in values:
        assert fast(value) == reference.encode(value)


def test_refuses_what_json_refuses():
    with pytest.raises(TypeError):
        compact_encoder()({"when": object()})


def test_spliced_dumps_is_json_dumps_with_kept_texts() -> None:
    """EncodedDicts reached through SplicedDicts and SplicedLists are written from their kept text; the whole is
    json.dumps of the same values (and control_text is control), empty containers and odd values included."""
    from services import envelope
    from services.json_text import EncodedDict, SplicedDict, SplicedList, spliced_dumps

    kept = [EncodedDict.of({"x": 'é"\x00', "y": [1.5, None, float("nan")]}), EncodedDict.of({})]
    value = SplicedDict(a=1, b=SplicedList(kept), c=SplicedDict(d=SplicedList(), e={"f": -0.0}), g=[kept[0]])
    assert spliced_dumps(value) == json.dumps(value)
    assert spliced_dumps(SplicedList()) == "[]" and spliced_dumps(SplicedDict()) == "{}"
    stamp = envelope.now_iso
    try:
        envelope.now_iso = lambda: "2026-11-30T00:00:00+00:00"
        for channel in (None, "learner:é"):
            assert envelope.control_text("k", spliced_dumps(value), channel) == envelope.control("k", value, channel)
    finally:
        envelope.now_iso = stamp
    kept[1]["late"] = True  # a kept dict changed after its text was taken is written as it was: read-only
    assert spliced_dumps(SplicedList(kept[1:])) == "[{}]"
