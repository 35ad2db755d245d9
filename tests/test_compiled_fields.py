"""The compiled fast path of event validation answers exactly as check_fields does, or leaves the answer to it.

validate_event (compiled check first) is compared with _validate_in_detail (check_fields only) over valid
events of every kind and over each of their fields replaced by tricky values, removed, doubled by unknown
or other kinds' fields; results are compared by repr, so 5 and 5.0 or two time zones never pass for equal.
body_hash is compared with the implementation it replaced: stored fingerprints depend on every byte.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.compiled_fields import compile_fields
from api.events import schemas
from api.events.schemas import KIND_FIELDS, _validate_in_detail, body_hash, validate_event
from api.json_input import loads
from api.validation import MAX_SAFE_INT, Field, check_fields

NOW = datetime.now(UTC)
SKEW = timedelta(seconds=300)
RECENT = (NOW - timedelta(hours=2)).isoformat()
VALID = {
    "activity": {
        "id": "a-1",
        "learner": "L1",
        "kind": "activity",
        "occurred_at": RECENT,
        "course": "c1",
        "module": "m1",
        "section": "s1",
        "subject": "maths",
        "duration_seconds": 60,
    },
    "heartbeat": {"learner": "L1", "kind": "heartbeat", "occurred_at": "2026-01-05T09:30:00Z"},
    "module_completed": {"learner": "L1", "kind": "module_completed", "occurred_at": RECENT, "module": "m1"},
    "assessment": {
        "id": "x" * 128,
        "learner": "Zoë 学生",
        "kind": "assessment",
        "occurred_at": "2026-01-05T09:30:00.5+05:30",
        "skill": "fractions",
        "score": 7.5,
        "max_score": 10,
        "duration_seconds": 0,
    },
    "grade": {"learner": "L1", "kind": "grade", "exam": "e1", "marks": 12, "section": "s1", "subject": "maths"},
    "attendance": {"learner": "L1", "kind": "attendance", "section": "s1", "date": "2026-01-05", "status": "late"},
}
TRICKY = [
    None,
    True,
    False,
    0,
    -1,
    1,
    7,
    10,
    11,
    0.0,
    -0.0,
    2.5,
    1e-7,
    1e9,
    1e9 + 1,
    1e16,
    7 * 24 * 3600,
    7 * 24 * 3600 + 0.5,
    MAX_SAFE_INT,
    MAX_SAFE_INT + 1,
    -MAX_SAFE_INT - 1,
    10**30,
    10**300,
    1e308,
    "",
    " ",
    " \t\n ",
    "a",
    " padded ",
    "x" * 16,
    "x" * 17,
    "x" * 128,
    "x" * 129,
    "x" * 200,
    "x" * 201,
    "a\x00b",
    "\ud800",
    "é ü 😀",
    "activity",
    "assessment",
    "present",
    "absent",
    "Present",
    "unknown",
    "2026-01-05",
    "2026-02-30",
    "99999-01-01",
    "0001-01-01",
    "9999-12-31",
    "2026-01-05T09:30:00",
    "2026-01-05T09:30:00Z",
    "2026-01-05T09:30:00+00:00",
    "2026-01-05T09:30:00.000000+00:00",
    "2026-01-05 09:30:00-08:00",
    "2026-01-05T09:30:00+25:00",
    "1899-12-31T23:59:59Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    (NOW + timedelta(hours=1)).isoformat(),
    (NOW + timedelta(days=1)).date().isoformat(),
    RECENT,
    "Europe/Paris",
    [],
    ["a"],
    {},
    {"kind": "activity"},
]
UNKNOWN = [("colour", "red"), ("Kind", "activity"), ("", 1), ("learner ", "L2")]


def same(raw: Any, prefix: str = "events[3].") -> tuple[Any, Any]:
    """Both paths' answers for one raw event, as comparable text."""
    fast = validate_event(raw, prefix, NOW, SKEW)
    detailed = _validate_in_detail(raw, prefix, NOW, SKEW)
    return repr(fast), repr(detailed)


def variants(kind: str) -> list[dict[str, Any]]:
    """A valid event of `kind` with each field (its own, other kinds' and unknown ones) changed in turn."""
    base = VALID[kind]
    fields = sorted({name for spec in KIND_FIELDS.values() for name in spec})
    out = [dict(base)]
    for name in fields:
        out += [{**base, name: value} for value in TRICKY]
        out.append({key: value for key, value in base.items() if key != name})
    out += [{**base, name: value} for name, value in UNKNOWN]
    return out


@pytest.mark.parametrize("kind", sorted(VALID))
def test_every_variant_gets_the_detailed_answer(kind):
    checked = [same(raw) for raw in variants(kind)]
    assert all(fast == detailed for fast, detailed in checked), [pair for pair in checked if pair[0] != pair[1]][:3]
    assert len(checked) > 1000


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_events_take_the_fast_path(kind):
    """The compiled check accepts every valid event given here (else it would only ever fall back), but for
    integers beyond 2**53 in a number field, which check_fields turns into floats on its own."""
    compiled = schemas._COMPILED[kind]
    valid = [
        raw
        for raw in variants(kind)
        if not _validate_in_detail(raw, "", NOW, SKEW)[1]
        and not any(type(value) is int and abs(value) > MAX_SAFE_INT for value in raw.values())
    ]
    assert len(valid) > 20
    for raw in valid:
        clean = compiled(raw)
        assert clean is not None, raw
        assert repr(clean) == repr(check_fields(raw, KIND_FIELDS[kind])[0])


def test_non_objects_and_kinds_fall_back():
    for raw in [None, 1, "activity", [], [VALID["activity"]], {}, {"kind": None}, {"kind": ["activity"]}, {"kind": 1}]:
        fast, detailed = same(raw)
        assert fast == detailed
        assert "'reason'" in fast  # an error, worded by the detailed path


def test_decoded_json_gets_the_detailed_answer():
    """What the JSON decoder gives (ints beyond float range are refused earlier, NaN too) against both paths."""
    text = json.dumps([{**VALID["assessment"], "score": value} for value in (1, 1.0, 10, 10.0, 1e2, 12345678901)])
    for raw in loads(text):
        fast, detailed = same(raw, "")
        assert fast == detailed


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=5,
)


@given(
    kind=st.sampled_from(sorted(VALID)),
    changes=st.dictionaries(
        st.sampled_from(sorted({name for spec in KIND_FIELDS.values() for name in spec} | {"other"})),
        JSON_VALUES | st.sampled_from(TRICKY[:40]),
        max_size=3,
    ),
)
@settings(
    max_examples=300, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
def test_random_values_get_the_detailed_answer(kind, changes):
    fast, detailed = same({**VALID[kind], **changes})
    assert fast == detailed


SPECS = {
    "count": Field("int", minimum=-5, maximum=1e15),
    "flag": Field("bool"),
    "day": Field("date", required=True),
    "zone": Field("time_zone"),
    "tags": Field("list", max_length=3, item=Field("str", max_length=4, choices=("a", "bb", "ccc"))),
    "any": Field("list", max_length=2),
    "ratio": Field("number", minimum=0.5),
}
SPEC_VALUES = [
    *TRICKY,
    "UTC",
    "America/New_York",
    "Mars/Olympus",
    2.0,
    3.5,
    -5,
    -6,
    10**15,
    10**15 + 1,
    ["a", "bb"],
    ["a", "dddd"],
    ["a"] * 4,
    [1],
    ["a", None],
]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_other_kinds_of_field_match_check_fields(name):
    """compile_fields for the kinds no event uses: a clean answer only where check_fields has no error."""
    check = compile_fields(SPECS)
    taken = 0
    for value in SPEC_VALUES:
        data = {"day": "2026-01-05", name: value}
        clean, errors = check_fields(data, SPECS)
        fast = check(data)
        if fast is not None:
            taken += 1
            assert not errors and repr(fast) == repr(clean), (name, value)
    assert taken >= 3


def reference_hash(clean: dict[str, Any]) -> str:
    """body_hash as it was written before the compiled fast path (commit fcb40f8)."""
    canonical = {
        k: (
            v
            if type(v) in (str, int, float, bool)
            else v.astimezone(UTC).isoformat()
            if isinstance(v, datetime)
            else v.isoformat()
            if hasattr(v, "isoformat")
            else v
        )
        for k, v in clean.items()
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def test_body_hash_is_unchanged():
    cleans = [
        validate_event(raw, "", NOW, SKEW)[0]
        for kind in sorted(VALID)
        for raw in variants(kind)
        if not validate_event(raw, "", NOW, SKEW)[1]
    ]
    cleans += [
        {"kind": "grade", "when": datetime(2026, 1, 5, 9, 30, tzinfo=timezone(timedelta(hours=-8))), "n": None},
        {"date": date(2026, 1, 5), "big": 2**70, "f": 1e16, "t": True, "s": 'é\u2028"\\\n\t😀', "l": [1, "a"]},
    ]
    assert len(cleans) > 300
    for clean in cleans:
        clean = {key: value for key, value in clean.items() if key != "hash"}
        assert body_hash(clean) == reference_hash(clean)


def test_body_hash_refuses_what_it_refused():
    with pytest.raises(TypeError):
        body_hash({"when": object()})
