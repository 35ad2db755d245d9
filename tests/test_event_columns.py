"""The batch lane that checks alike events a column at a time (api/events/columns.py) gives each event it answers
exactly what schemas.well_formed_event gives it (plus its index), compared by repr (so 5 and 5.0, two time zones,
or a key order never pass for equal), and leaves everything else to the per-event path.

Compared over every variant of every kind (test_compiled_fields: tricky values, missing, null and unknown
fields) placed in a group of otherwise valid alike events, over generated groups (non-ASCII text, floats,
date-times in every offset and form, dates), and over odd date-time forms; validate_events answers as the
per-event path does, errors included.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.errors import ApiError
from api.events import columns
from api.events.columns import MIN_GROUP, well_formed_batch
from api.events.ingest import _path, validate_events
from api.events.schemas import KIND_FIELDS, validate_event, well_formed_event
from tests.test_compiled_fields import TRICKY, VALID, variants
from tests.test_event_fingerprint import MOMENTS, plain_value, scores_in_order, written

NOW = datetime.now(UTC)
SKEW = timedelta(seconds=300)
LATEST = NOW + SKEW
SETTINGS = settings(
    max_examples=300, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def one_at_a_time(raws: list[Any]) -> list[dict[str, Any] | None]:
    """The per-event lane's answers, with the index _validate_all adds."""
    out: list[dict[str, Any] | None] = []
    for index, raw in enumerate(raws):
        clean = well_formed_event(raw, NOW, LATEST)
        out.append(None if clean is None else {**clean, "index": index})
    return out


def agree(raws: list[Any]) -> int:
    """How many events the column lane answered; fails if any answer differs from the per-event lane's."""
    lane, alone = well_formed_batch(raws, NOW, LATEST), one_at_a_time(raws)
    for index, (fast, slow) in enumerate(zip(lane, alone)):
        if fast is not None:
            assert slow is not None, raws[index]  # the lane took an event the per-event lane refuses
            assert repr(fast) == repr(slow), raws[index]
    return sum(fast is not None for fast in lane)


def reference_validate(raws: list[Any]) -> tuple[str, Any]:
    """validate_events' answer computed one event at a time (the code before the column lane)."""
    events, errors = [], []
    for index, raw in enumerate(raws):
        clean = well_formed_event(raw, NOW, LATEST)
        if clean is None:
            clean, event_errors = validate_event(raw, _path(index, "events"), NOW, SKEW)
            errors.extend({"index": index, **error} for error in event_errors)
        clean["index"] = index
        events.append(clean)
    if errors:
        return "errors", errors
    return "events", repr(events)


@pytest.mark.parametrize("kind", sorted(VALID))
def test_every_variant_in_a_group_of_alike_events(kind):
    """Each variant alone in a group (MIN_GROUP copies), then once among valid events sending the same fields."""
    taken = 0
    for raw in variants(kind):
        taken += agree([dict(raw) for _ in range(MIN_GROUP)]) > 0
        agree([{**VALID[kind], **{k: v for k, v in raw.items()}} for _ in range(MIN_GROUP - 1)] + [raw])
    valid = [raw for raw in variants(kind) if well_formed_event(raw, NOW, LATEST) is not None]
    assert taken == len(valid) > 20  # every valid variant takes the lane (nulls too)


@pytest.mark.parametrize("kind", sorted(VALID))
@pytest.mark.parametrize("name", sorted({name for fields in KIND_FIELDS.values() for name in fields}))
def test_one_tricky_value_among_good_ones(kind, name):
    """Every tricky value of every field, once in a group whose other events are valid: never taken wrongly."""
    base = VALID[kind]
    for value in TRICKY:
        group = [dict(base) for _ in range(MIN_GROUP)]
        for raw in group:
            raw.setdefault(name, value)  # the same fields in every event: the same group
        group[3] = {**group[3], name: value}
        agree(group)


@st.composite
def alike(draw: Any) -> list[dict[str, Any]]:
    """A group of events of one kind sending the same fields (date-times in one form, or several)."""
    kind = draw(st.sampled_from(sorted(KIND_FIELDS)))
    fields = KIND_FIELDS[kind]
    sent = [name for name, spec in fields.items() if spec.required or draw(st.booleans())]
    forms = draw(st.lists(st.sampled_from(["auto", "micro", "z", "space", "millis"]), min_size=1, max_size=2))
    zones = draw(st.sampled_from(["utc", "any"]))
    group = []
    for _ in range(draw(st.integers(MIN_GROUP, MIN_GROUP + 6))):
        raw: dict[str, Any] = {}
        for name in sent:
            spec = fields[name]
            if name == "kind":
                raw[name] = kind
            elif spec.kind == "datetime":
                moment = draw(MOMENTS)
                moment = moment.replace(tzinfo=UTC) if zones == "utc" else moment
                raw[name] = written(moment, draw(st.sampled_from(forms)))
            elif spec.kind == "date":
                raw[name] = draw(st.dates(NOW.date() - timedelta(days=3000), NOW.date())).isoformat()
            else:
                raw[name] = plain_value(draw, spec)
        group.append(scores_in_order(raw, kind))
    return group


@given(st.lists(alike(), min_size=1, max_size=3), st.randoms(use_true_random=False))
@SETTINGS
def test_generated_groups(groups, rng):
    raws = [raw for group in groups for raw in group]
    rng.shuffle(raws)
    agree(raws)
    if len(groups) == 1 and all(well_formed_event(raw, NOW, LATEST) for raw in raws):
        kept = {"occurred_at_text" in well_formed_event(raw, NOW, LATEST) for raw in raws}
        if len(kept) == 1:  # the text sent is UTC's own for all or none: the lane takes the group
            assert agree(raws) == len(raws)


@pytest.mark.parametrize(
    "form",
    [
        "2026-01-05T09:30:00+00:00",
        "2026-01-05T09:30:00Z",
        "2026-01-05T09:30:00.123456+00:00",
        "2026-01-05T09:30:00.123456Z",
        "2026-01-05T09:30:00.000000+00:00",
        "2026-01-05T09:30:00.123+00:00",
        "2026-01-05 09:30:00+00:00",
        "2026-01-05 09:30:00.123456+00:00",
        "2026-01-05T09:30:00,123456+00:00",
        "2026-01-05T09:30:00.123456-00:00",
        "20260105T093000.123456+00:00",
        "2026-01-05T09:30:00+01:00",
        "2026-01-05T09:30:00.000001-05:30",
        "2026-01-05T24:00:00+00:00",
        "2026-01-05T09:30:00",
        "1900-01-01T00:00:00+00:00",
        "1900-01-01T00:30:00+01:00",
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59+00:00",
        (NOW + timedelta(seconds=299)).isoformat(),
        (NOW + timedelta(seconds=301)).isoformat(),
    ],
)
def test_date_time_forms(form):
    group = [{**VALID["heartbeat"], "occurred_at": form} for _ in range(MIN_GROUP)]
    taken = agree(group)
    assert taken in (0, MIN_GROUP)
    mixed = [{**raw, "occurred_at": VALID["heartbeat"]["occurred_at"]} for raw in group[:-1]] + [group[-1]]
    agree(mixed)  # one odd form among the usual one


def test_defaults_and_rules_per_kind():
    """Defaults (occurred_at from the date, or now) and the cross-field rules, in groups."""
    grades = [{**VALID["grade"], "marks": n} for n in range(MIN_GROUP)]
    attendance = [{**VALID["attendance"], "date": f"2026-01-{n + 1:02d}"} for n in range(MIN_GROUP)]
    scores = [{**VALID["assessment"], "score": n, "max_score": MIN_GROUP} for n in range(MIN_GROUP)]
    assert agree(grades) == agree(attendance) == agree(scores) == MIN_GROUP
    for broken in (
        {**scores[2], "score": MIN_GROUP + 1},
        {**scores[2], "max_score": 0, "score": 0},
        {**scores[2], "max_score": 0.0, "score": 0},
    ):
        assert agree(scores[:2] + [broken] + scores[3:]) == 0
    future = (NOW + timedelta(days=2)).date().isoformat()
    assert agree(attendance[:-1] + [{**attendance[-1], "date": future}]) == 0
    timed = [{**day, "occurred_at": "2026-01-05T09:30:00Z"} for day in attendance]  # the date alone in the future
    assert agree(timed) == MIN_GROUP
    assert agree(timed[:-1] + [{**timed[-1], "date": future}]) == 0
    late = (NOW + timedelta(hours=1)).isoformat()
    assert agree([{**grade, "occurred_at": late} for grade in grades]) == 0


def test_types_nulls_and_extra_fields_leave_the_lane():
    base = [{**VALID["activity"], "duration_seconds": n} for n in range(MIN_GROUP)]
    assert agree(base) == MIN_GROUP
    for odd in (
        {"duration_seconds": True},
        {"duration_seconds": None},
        {"duration_seconds": "60"},
        {"duration_seconds": float("nan")},
        {"duration_seconds": float("inf")},
        {"duration_seconds": 10**400},
        {"duration_seconds": -1},
        {"learner": None},
        {"learner": 7},
        {"learner": "a\x00b"},
        {"learner": "\ud800"},
        {"learner": "  "},
        {"learner": "x" * 129},
        {"kind": "Activity"},
        {"course": ["c1"]},
    ):
        batch = [dict(raw) for raw in base]
        batch[5].update(odd)
        assert agree(batch) <= MIN_GROUP
        assert all(
            clean is None for clean in well_formed_batch(batch, NOW, LATEST)[:5] if odd.keys() <= set(VALID["activity"])
        )
    extra = [dict(raw, colour="red") for raw in base]
    assert agree(extra) == 0
    unicode = [{**raw, "learner": f"Zoë 学生 {n} 😀"} for n, raw in enumerate(base)]
    assert agree(unicode) == MIN_GROUP


@given(st.lists(alike(), min_size=1, max_size=3), st.randoms(use_true_random=False), st.integers(0, len(TRICKY) - 1))
@settings(max_examples=120, derandomize=True, deadline=None, database=None)
def test_validate_events_answers_as_one_event_at_a_time(groups, rng, tricky):
    """Whole batches, some with one bad value: the same events, or the same 422 with the same details."""
    raws = [raw for group in groups for raw in group]
    if rng.random() < 0.5:
        victim = rng.randrange(len(raws))
        raws[victim] = {**raws[victim], rng.choice(sorted(raws[victim])): TRICKY[tricky]}
    expected = reference_validate(raws)
    try:
        got: tuple[str, Any] = ("events", repr(validate_events(raws, "events", SKEW)))
    except ApiError as error:
        got = ("errors", error.details)
    if expected[0] == "events":
        assert got[0] == "events"
        assert [e["hash"] for e in validate_events(raws, "events", SKEW)] == [
            e["hash"] for e in (well_formed_event(r, NOW, LATEST) or validate_event(r, "", NOW, SKEW)[0] for r in raws)
        ]
    else:
        assert got == expected


def test_many_kinds_of_event_take_the_per_event_path():
    raws = [{**VALID["heartbeat"], f"x{n}": 1} for n in range(columns.MAX_GROUPS + 1) for _ in range(MIN_GROUP)]
    assert all(clean is None for clean in well_formed_batch(raws, NOW, LATEST))
    random.Random(3).shuffle(raws)
    assert agree(raws) == 0
