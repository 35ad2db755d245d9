"""Property tests: any JSON value in any field of an event, a class register, a mark sheet, an entity or a
threshold gives a 2xx, or a 4xx in our error shape that names the field; never an exception or a 500.

Values: hypothesis' recursive JSON (huge integers, NaN and infinities, lone surrogates, NUL, nested lists
and objects) plus raw texts nested hundreds of levels deep. Examples are few (80 per test) and derandomized, so the
run is reproducible and stays well under a minute on two cores.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.thresholds import PARAMETER_RANGES, threshold_problem

RECENT = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
FUZZ = '"__FUZZ__"'
SETTINGS = settings(
    max_examples=80,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TRICKY_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "\ud800",
        "a\udfffb",
        "a\x00b",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "2026-01-05",
        RECENT,
        "present",
        "at_risk",
        "probability_at_least",
        "global",
        "c1",
        "s1",
        "amy",
        "x" * 300,
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**53 + 1, -(2**63), 2**64, 10**400, -(10**400), 0.5, -0.0, 1e308]),
    st.floats(),  # NaN and infinities included
    st.text(st.characters(exclude_categories=()), max_size=12),  # lone surrogates included
    TRICKY_STRINGS,
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)
RAW_VALUES = st.one_of(
    JSON_VALUES.map(json.dumps),  # NaN/Infinity as those tokens, surrogates as \\ud800 escapes
    st.integers(20, 500).map(lambda depth: "[" * depth + "0" + "]" * depth),
    st.integers(20, 200).map(lambda depth: '{"a": ' * depth + "1" + "}" * depth),
)


def body_with(template: dict[str, Any], raw_value: str) -> bytes:
    """The template as JSON with its "__FUZZ__" placeholder replaced by raw JSON text."""
    text = json.dumps(template)
    assert text.count(FUZZ) == 1
    return text.replace(FUZZ, raw_value).encode()


def set_path(template: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A copy of the template with the value at `path` replaced (or added)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = dict(template) if isinstance(template, dict) else list(template)
    inner = template.get(head, {}) if isinstance(template, dict) else template[head]
    copy[head] = set_path(inner, rest, value)
    return copy


def field_name(path: tuple[str | int, ...]) -> str:
    """("records", 0, "status") -> "records[0].status"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _refuse_constant(token: str) -> None:
    raise AssertionError(f"the response holds {token}, which is not JSON")


def check(client: Any, method: str, url: str, headers: dict, template: dict, path: tuple, raw_value: str) -> None:
    """The property: below 500, and a 400/422 names the fuzzed field (or a value inside it)."""
    response = client.open(
        url, method=method, data=body_with(set_path(template, path, "__FUZZ__"), raw_value),
        headers=headers, content_type="application/json",
    )  # fmt: skip
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code < 400:  # accepted: and what we answer is strict JSON (no NaN echoed back)
        json.loads(response.get_data(as_text=True) or "null", parse_constant=_refuse_constant)
        return
    error = response.json["error"]
    assert set(error) == {"status", "code", "message", "details"} and error["status"] == response.status_code
    if response.status_code in (400, 422):
        named = field_name(path)
        paths = [detail["path"] for detail in error["details"]]
        assert any(p.startswith(named) for p in paths), (named, error)


EVENT_TEMPLATES = {
    "assessment": {"learner": "amy", "kind": "assessment", "occurred_at": RECENT, "score": 5, "max_score": 10},
    "activity": {"learner": "amy", "kind": "activity", "occurred_at": RECENT, "course": "c1", "duration_seconds": 9},
    "grade": {"learner": "amy", "kind": "grade", "exam": "e1", "marks": 3},
    "attendance": {"learner": "amy", "kind": "attendance", "section": "s1", "date": "2026-01-05", "status": "late"},
}
EVENT_FIELDS = sorted({(kind, name) for kind, fields in EVENT_TEMPLATES.items() for name in [*fields, "id", "module"]})


@SETTINGS
@given(target=st.sampled_from(EVENT_FIELDS), raw_value=RAW_VALUES)
def test_any_value_in_any_event_field(client, school, target, raw_value):  # noqa: F811
    kind, name = target
    check(client, "POST", "/api/v1/events", school["service"], EVENT_TEMPLATES[kind], (name,), raw_value)


@SETTINGS
@given(path=st.sampled_from([("events",), ("events", 0), ("events", 0, "score"), ("events", 1, "kind")]),
       raw_value=RAW_VALUES)  # fmt: skip
def test_any_value_in_an_event_batch(client, school, path, raw_value):  # noqa: F811
    batch = {"events": [EVENT_TEMPLATES["assessment"], EVENT_TEMPLATES["activity"]]}
    check(client, "POST", "/api/v1/events", school["service"], batch, path, raw_value)


REGISTER = {"section": "s1", "date": "2026-01-05", "records": [{"learner": "amy", "status": "present"}]}
REGISTER_PATHS = [("section",), ("date",), ("records",), ("records", 0), ("records", 0, "learner"),
                  ("records", 0, "status"), ("records", 0, "id"), ("extra",)]  # fmt: skip


@SETTINGS
@given(path=st.sampled_from(REGISTER_PATHS), raw_value=RAW_VALUES)
def test_any_value_in_a_class_register(client, school, path, raw_value):  # noqa: F811
    check(client, "POST", "/api/v1/attendance", school["service"], REGISTER, path, raw_value)


SHEET = {"occurred_at": RECENT, "grades": [{"learner": "amy", "marks": 4}]}
SHEET_PATHS = [("occurred_at",), ("grades",), ("grades", 0), ("grades", 0, "learner"), ("grades", 0, "marks"),
               ("grades", 0, "id"), ("extra",)]  # fmt: skip


@SETTINGS
@given(path=st.sampled_from(SHEET_PATHS), raw_value=RAW_VALUES)
def test_any_value_in_a_mark_sheet(client, school, path, raw_value):  # noqa: F811
    check(client, "POST", "/api/v1/exams/e1/grades", school["service"], SHEET, path, raw_value)


ENTITIES = {
    "/api/v1/users/u1": {"role": "learner", "name": "U", "email": "u@example.org", "active": True},
    "/api/v1/modules/m2": {"course": "c1", "title": "M2", "position": 2},
    "/api/v1/exams/e2": {"title": "E2", "max_marks": 10, "held_on": "2026-01-05", "course": "c1", "section": "s1"},
    "/api/v1/sections/s2": {"name": "S2", "course": "c1"},
}
ENTITY_FIELDS = sorted({(url, name) for url, fields in ENTITIES.items() for name in [*fields, "extra"]})


@SETTINGS
@given(target=st.sampled_from(ENTITY_FIELDS), raw_value=RAW_VALUES)
def test_any_value_in_any_entity_field(client, school, target, raw_value):  # noqa: F811
    url, name = target
    check(client, "PUT", url, school["admin"], ENTITIES[url], (name,), raw_value)


OVERRIDE = {"rule": "at_risk", "parameter": "probability_at_least", "scope_type": "global", "value": 0.7}
PREFERENCES = {"min_severity": "low", "types": ["at_risk"], "thresholds": {"at_risk": {"probability_at_least": 0.7}}}
PREFERENCE_PATHS = [("min_severity",), ("muted",), ("types",), ("thresholds",), ("thresholds", "at_risk"),
                    ("thresholds", "at_risk", "probability_at_least"), ("thresholds", "engagement_drop", "days"),
                    ("thresholds", "low_consistency", "share_below")]  # fmt: skip


@SETTINGS
@given(name=st.sampled_from([*OVERRIDE, "scope", "extra"]), raw_value=RAW_VALUES)
def test_any_value_in_an_admin_threshold(client, school, name, raw_value):  # noqa: F811
    check(client, "PUT", "/api/v1/admin/thresholds", school["admin"], OVERRIDE, (name,), raw_value)


@SETTINGS
@given(path=st.sampled_from(PREFERENCE_PATHS), raw_value=RAW_VALUES)
def test_any_value_in_personal_thresholds(client, school, path, raw_value):  # noqa: F811
    check(client, "PUT", "/api/v1/alerts/preferences?section=s1", school["educator"], PREFERENCES, path, raw_value)


@settings(max_examples=300, derandomize=True, database=None)
@given(target=st.sampled_from(sorted((r, p) for r, params in PARAMETER_RANGES.items() for p in params)),
       value=JSON_VALUES)  # fmt: skip
def test_threshold_ranges_hold_for_every_caller(target, value):
    """The service-level check every writer of overrides uses: usable values only, never an exception."""
    problem = threshold_problem(*target, value)
    if problem is None:
        limits = PARAMETER_RANGES[target[0]][target[1]]
        assert isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        assert limits.minimum <= value <= limits.maximum
