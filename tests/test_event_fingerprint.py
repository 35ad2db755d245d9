"""The batch path's fast lane (schemas.well_formed_event, api/events/well_formed.py) answers exactly as
validate_event does: the same clean event, the same body hash (stored with every event: one byte of
difference would turn re-sent events into 409s), or None to leave the event to validate_event.

Compared over every variant of every kind from test_compiled_fields (tricky values, missing and unknown
fields), over generated events (non-ASCII text, floats such as 1e16, 0.1 and -0.0, date-times with and without
microseconds in every offset and written with "Z", "+00:00" or other offsets, dates), and against the
hash as first written (json.dumps, test_compiled_fields.reference_hash).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.events.ingest import public_event, validate_events
from api.events.schemas import KIND_FIELDS, body_hash, validate_event, well_formed_event
from api.events.well_formed import utc_text
from api.validation import MAX_SAFE_INT
from tests.test_compiled_fields import VALID, reference_hash, variants

NOW = datetime.now(UTC)
SKEW = timedelta(seconds=300)
LATEST = NOW + SKEW
SETTINGS = settings(
    max_examples=600, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def agree(raw: Any) -> bool:
    """Whether the fast lane took the event; fails if its answer differs from validate_event's in any way."""
    fast = well_formed_event(raw, NOW, LATEST)
    clean, errors = validate_event(raw, "", NOW, SKEW)
    if fast is None:
        return False
    assert not errors, (raw, errors)
    text = fast.pop("occurred_at_text", None)
    assert repr(fast) == repr(clean), raw
    assert text is None or text == fast["occurred_at"].isoformat() == fast["occurred_at"].astimezone(UTC).isoformat()
    sent = {
        key: value
        for key, value in clean.items()
        if key != "hash" and (key != "occurred_at" or raw.get(key) is not None)
    }
    assert fast["hash"] == body_hash(sent) == reference_hash(sent), raw
    return True


@pytest.mark.parametrize("kind", sorted(VALID))
def test_every_variant_gets_validate_events_answer(kind):
    raws = variants(kind)
    taken = sum(agree(raw) for raw in raws)
    valid = [
        raw
        for raw in raws
        if not validate_event(raw, "", NOW, SKEW)[1]
        and not any(type(value) is int and abs(value) > MAX_SAFE_INT for value in raw.values())
    ]
    assert taken == len(valid) > 20  # every valid event takes the lane (else it would only ever fall back)


TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=40).filter(
    str.strip
)
FLOATS = st.sampled_from([0.0, -0.0, 0.1, 1e16, 1e-7, 123456789.123, 2.5, 1 / 3, 1e9]) | st.floats(0, 1e9)
OFFSETS = st.sampled_from([0, 0, 0, 60, -480, 330, 345, -1, 14 * 60, -(14 * 60)]).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
MOMENTS = st.builds(
    lambda moment, micro, zone: moment.replace(microsecond=micro, tzinfo=zone),
    st.datetimes(datetime(1900, 1, 2), datetime(2026, 11, 1)),
    st.sampled_from([0, 0, 1, 500000, 999999, 123456, 100]),
    OFFSETS,
)


def written(moment: datetime, form: str) -> str:
    """A date-time as a client might write it."""
    text = moment.isoformat(timespec="microseconds" if form == "micro" else "auto")
    if form == "z" and text.endswith("+00:00"):
        return text[:-6] + "Z"
    if form == "space":
        return text.replace("T", " ")
    if form == "millis":
        return moment.isoformat(timespec="milliseconds")
    return text


@st.composite
def events(draw: Any) -> dict[str, Any]:
    """A well-formed event of any kind, every optional field present or not."""
    kind = draw(st.sampled_from(sorted(KIND_FIELDS)))
    raw: dict[str, Any] = {"kind": kind, "learner": draw(TEXT)}
    for name, spec in KIND_FIELDS[kind].items():
        if name in raw or (not spec.required and draw(st.booleans())):
            continue
        if spec.kind == "datetime":
            raw[name] = written(draw(MOMENTS), draw(st.sampled_from(["auto", "micro", "z", "space", "millis"])))
        elif spec.kind == "date":
            raw[name] = draw(st.dates(date(1900, 1, 1), NOW.date())).isoformat()
        else:
            raw[name] = plain_value(draw, spec)
    return scores_in_order(raw, kind)


def plain_value(draw: Any, spec: Any) -> Any:
    """A valid number (within the field's bounds: variants() tries the others), choice or text for `spec`."""
    if spec.kind == "number":
        return min(draw(FLOATS | st.integers(0, 10**6)), spec.maximum or 1e9)
    if spec.choices:
        return draw(st.sampled_from(spec.choices))
    return draw(TEXT)


def scores_in_order(raw: dict[str, Any], kind: str) -> dict[str, Any]:
    """An assessment's score made to fit its max_score (a positive one), as the kind's rule asks."""
    if kind == "assessment":
        raw["max_score"] = max(raw["max_score"], 1)
        raw["score"] = min(raw["score"], raw["max_score"])
    return raw


@given(events())
@SETTINGS
def test_generated_events_get_validate_events_answer(raw):
    assert not validate_event(raw, "", NOW, SKEW)[1]
    assert agree(raw)  # every valid event takes the lane


@given(st.lists(events(), min_size=1, max_size=20))
@settings(max_examples=50, derandomize=True, deadline=None, database=None)
def test_a_batch_is_validated_as_one_event_at_a_time(raws):
    """validate_events (the fast lane first) against validate_event per event; public events alike."""
    batch = validate_events(raws, "events", SKEW)
    for index, (raw, clean) in enumerate(zip(raws, batch)):
        alone, errors = validate_event(raw, f"events[{index}].", datetime.now(UTC), SKEW)
        assert not errors
        assert clean["hash"] == alone["hash"] and clean["index"] == index
        if "occurred_at" in raw:
            assert public_event(clean, 1) == public_event({**alone, "index": index}, 1)


@given(MOMENTS, st.sampled_from(["auto", "micro", "z", "space", "millis"]))
@SETTINGS
def test_utc_text_is_the_utc_isoformat_or_nothing(moment, form):
    sent = written(moment, form)
    parsed = datetime.fromisoformat(sent)
    text = utc_text(sent, parsed)
    assert text is None or text == parsed.isoformat() == parsed.astimezone(UTC).isoformat()
    if form in ("auto", "z") and parsed.utcoffset() == timedelta(0):
        assert text is not None  # the common forms are taken from the text sent


@pytest.mark.parametrize(
    "sent",
    [
        "2026-01-05T09:30:00+00:00",
        "2026-01-05T09:30:00Z",
        "2026-01-05T09:30:00.123456+00:00",
        "2026-01-05T09:30:00.123456Z",
        "2026-01-05T09:30:00.000000+00:00",  # isoformat writes no zero fraction
        "2026-01-05T09:30:00.000000Z",
        "2026-01-05T09:30:00.123+00:00",
        "2026-01-05T09:30:00,123456+00:00",
        "2026-01-05 09:30:00+00:00",
        "2026-01-05T09:30:00+0000",
        "2026-01-05T09:30:00-00:00",
        "2026-01-05T09:30:00+00:00:00",
        "2026-01-05T09:30+00:00",
        "20260105T093000+00:00",
        "2026-W02-1T09:30:00+00:00",
        "2026-W02-1T09:30:00.123456+00:00",
        "2026-01-05T09:30:00+01:00",
        "2026-01-05T09:30:00.123456+05:30",
    ],
)
def test_utc_text_of_odd_forms(sent):
    try:
        parsed = datetime.fromisoformat(sent)
    except ValueError:
        return  # this Python refuses the form: no event carries it
    text = utc_text(sent, parsed)
    assert text is None or text == parsed.isoformat() == parsed.astimezone(UTC).isoformat()
    assert agree({"learner": "L1", "kind": "activity", "occurred_at": sent})
