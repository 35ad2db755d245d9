"""The malformed-request corpus, one row per class: each gets a 4xx in our JSON error shape that names
the field, and nothing is stored. Then the refusals gunicorn and the WebSocket make themselves."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from api.errors import error_body
from models import (
    AlertHistory,
    Course,
    Event,
    Grade,
    Module,
    NotificationPreference,
    ThresholdOverride,
    User,
    db,
)
from tests.conftest import bearer, create_user
from tests.ws_client import Socket

RECENT = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
HUGE_INT = "1" + "0" * 400  # beyond any float
EVENT = {"id": "e-1", "learner": "amy", "kind": "assessment", "occurred_at": RECENT, "score": 5, "max_score": 10}


def deep(levels: int, leaf: str = "1") -> str:
    return "[" * levels + leaf + "]" * levels


def event_with(field: str, raw_value: str) -> str:
    """An otherwise valid event whose `field` holds raw JSON text."""
    body = json.dumps({**EVENT, field: "PLACEHOLDER"})
    return body.replace('"PLACEHOLDER"', raw_value)


def threshold(raw_value: str) -> str:
    body = {"rule": "at_risk", "parameter": "probability_at_least", "scope_type": "global", "value": "PLACEHOLDER"}
    return json.dumps(body).replace('"PLACEHOLDER"', raw_value)


# (name, method, path, raw JSON body or None, who, expected status, field path named in details)
CORPUS: list[tuple[str, str, str, str | None, str, int, str]] = [
    # integers too large for a float, in numeric fields and in path ids
    ("huge int score", "POST", "/api/v1/events", event_with("score", HUGE_INT), "service", 400, "score"),
    ("huge int marks", "POST", "/api/v1/exams/e1/grades", f'{{"grades": [{{"learner": "amy", "marks": {HUGE_INT}}}]}}',
     "service", 400, "grades[0].marks"),
    ("int beyond 2**53", "PUT", "/api/v1/modules/m9", f'{{"course": "c1", "title": "M", "position": {2**70}}}',
     "service", 422, "position"),
    ("int 10**20 score", "POST", "/api/v1/events", event_with("score", str(10**20)), "service", 422, "score"),
    ("huge ttl", "POST", "/api/v1/auth/token", '{"user": "amy", "ttl": 1e300}', "service", 422, "ttl"),
    ("huge alert id", "POST", f"/api/v1/alerts/{HUGE_INT}/acknowledge", "{}", "admin", 404, ""),
    ("int64+1 alert id", "POST", f"/api/v1/alerts/{2**63}/acknowledge", "{}", "admin", 404, ""),
    ("huge override id", "DELETE", f"/api/v1/admin/thresholds/{2**64}", None, "admin", 404, ""),
    ("huge before", "GET", f"/api/v1/learners?before={HUGE_INT}", None, "admin", 400, "before"),
    # timestamps whose UTC conversion leaves the supported years
    ("year 1 with +01:00", "POST", "/api/v1/events", event_with("occurred_at", '"0001-01-01T00:30:00+01:00"'),
     "service", 422, "occurred_at"),
    ("year 9999 with -01:00", "POST", "/api/v1/events", event_with("occurred_at", '"9999-12-31T23:30:00-01:00"'),
     "service", 422, "occurred_at"),
    ("grades header year 1", "POST", "/api/v1/exams/e1/grades",
     '{"occurred_at": "0001-01-01T00:00:00+05:00", "grades": [{"learner": "amy", "marks": 1}]}',
     "service", 422, "occurred_at"),
    ("query since year 1", "GET", "/api/v1/learners/amy/events?since=0001-01-01T00:00:00%2B05:00", None,
     "admin", 400, "since"),
    # wrong JSON type where a string is expected
    ("kind is a list", "POST", "/api/v1/events", event_with("kind", '["assessment"]'), "service", 422, "kind"),
    ("kind is an object", "POST", "/api/v1/events", event_with("kind", '{"a": 1}'), "service", 422, "kind"),
    ("learner is an object", "POST", "/api/v1/events", event_with("learner", '{"id": "amy"}'), "service", 422,
     "learner"),
    ("batch item kind list", "POST", "/api/v1/events", '{"events": [{"kind": [], "learner": "amy"}]}', "service",
     422, "events[0].kind"),
    ("title is a list", "PUT", "/api/v1/courses/c9", '{"title": ["T"]}', "service", 422, "title"),
    ("section is an object", "POST", "/api/v1/attendance",
     '{"section": {"id": "s1"}, "date": "2026-01-05", "records": []}', "service", 422, "section"),
    ("record status list", "POST", "/api/v1/attendance",
     '{"section": "s1", "date": "2026-01-05", "records": [{"learner": "amy", "status": ["present"]}]}',
     "service", 422, "records[0].status"),
    ("severity is a list", "PUT", "/api/v1/alerts/preferences", '{"min_severity": ["low"]}', "admin", 422,
     "min_severity"),
    # pathologically deep nesting
    ("deep body (40)", "POST", "/api/v1/events", deep(40), "service", 400, "body" + "[0]" * 32),
    ("deep body (100k)", "POST", "/api/v1/events", deep(100_000), "service", 400, "body"),
    ("deep field", "POST", "/api/v1/events", event_with("learner", deep(50)), "service", 400, "learner" + "[0]" * 31),
    ("deep thresholds", "PUT", "/api/v1/alerts/preferences", f'{{"thresholds": {deep(100)}}}', "learner", 400,
     "thresholds"),
    ("deep text in a field (5k)", "PUT", "/api/v1/alerts/preferences", f'{{"thresholds": {deep(5000)}}}', "learner", 400,
     "body"),
    # lone UTF-16 surrogates and NUL in ids
    ("surrogate learner", "POST", "/api/v1/events", event_with("learner", '"a\\ud800"'), "service", 400, "learner"),
    ("surrogate event id", "POST", "/api/v1/events", event_with("id", '"\\udfff"'), "service", 400, "id"),
    ("NUL learner", "POST", "/api/v1/events", event_with("learner", '"a\\u0000b"'), "service", 400, "learner"),
    ("surrogate key", "PUT", "/api/v1/courses/c9", '{"\\ud800": 1}', "service", 400, "body"),
    ("surrogate title", "PUT", "/api/v1/courses/c9", '{"title": "\\ud800"}', "service", 400, "title"),
    ("NUL in path id", "GET", "/api/v1/courses/c%00", None, "admin", 404, ""),
    ("NUL in query", "GET", "/api/v1/progress/performance-alerts/?learner=a%00", None, "admin", 400, "learner"),
    # unhashable values inside list fields
    ("types holds a list", "PUT", "/api/v1/alerts/preferences", '{"types": [["at_risk"]]}', "admin", 422, "types"),
    ("types holds an object", "PUT", "/api/v1/alerts/preferences", '{"types": [{}]}', "admin", 422, "types"),
    ("types is a string", "PUT", "/api/v1/alerts/preferences", '{"types": "at_risk"}', "admin", 422, "types"),
    # threshold values: non-finite, out of the parameter's own range
    ("threshold NaN", "PUT", "/api/v1/admin/thresholds", threshold("NaN"), "admin", 400, "value"),
    ("threshold Infinity", "PUT", "/api/v1/admin/thresholds", threshold("Infinity"), "admin", 400, "value"),
    ("threshold 1e400", "PUT", "/api/v1/admin/thresholds", threshold("1e400"), "admin", 400, "value"),
    ("threshold above range", "PUT", "/api/v1/admin/thresholds", threshold("5"), "admin", 422, "value"),
    ("threshold below range", "PUT", "/api/v1/admin/thresholds", threshold("-0.5"), "admin", 422, "value"),
    ("personal NaN", "PUT", "/api/v1/alerts/preferences?section=s1", '{"thresholds": {"at_risk": {"probability_at_least": NaN}}}',
     "educator", 400, "thresholds.at_risk.probability_at_least"),
    ("personal -Infinity", "PUT", "/api/v1/alerts/preferences?section=s1",
     '{"thresholds": {"low_consistency": {"share_below": -Infinity}}}', "educator", 400,
     "thresholds.low_consistency.share_below"),
    ("personal out of range", "PUT", "/api/v1/alerts/preferences?section=s1",
     '{"thresholds": {"engagement_drop": {"days": 400}}}', "educator", 422, "thresholds.engagement_drop.days"),
    ("personal fractional days", "PUT", "/api/v1/alerts/preferences?section=s1",
     '{"thresholds": {"engagement_drop": {"days": 2.5}}}', "educator", 422, "thresholds.engagement_drop.days"),
    ("personal huge int", "PUT", "/api/v1/alerts/preferences?section=s1",
     f'{{"thresholds": {{"at_risk": {{"probability_at_least": {HUGE_INT}}}}}}}', "educator", 400,
     "thresholds.at_risk.probability_at_least"),
    # malformed documents
    ("not JSON", "POST", "/api/v1/events", "{oops", "service", 400, "body"),
    ("not UTF-8", "POST", "/api/v1/events", '{"learner": "\xff"}', "service", 400, "body"),
]  # fmt: skip


def stored_rows() -> dict[str, int]:
    """Row counts of everything a refused request must leave alone."""
    models = (Event, Grade, ThresholdOverride, NotificationPreference, AlertHistory, Course, Module, User)
    return {m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in models}


def assert_error_shape(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert set(error) == {"status", "code", "message", "details"} and error["status"] == status
    return error


@pytest.mark.parametrize("case", CORPUS, ids=[row[0] for row in CORPUS])
def test_malformed_request_is_refused_naming_the_field(client, school, case):
    _, method, path, body, who, status, field = case
    before = stored_rows()
    data = None if body is None else body.encode("latin-1")  # the corpus is ASCII JSON (escapes), but for \xff
    response = client.open(path, method=method, data=data, headers=school[who], content_type="application/json")
    error = assert_error_shape(response, status)
    if field:  # the named path is the field, or a value inside it
        assert any(d["path"].startswith(field) for d in error["details"]), error
    db.session.rollback()
    assert stored_rows() == before


@pytest.mark.parametrize(
    "method,path,kwargs,status",
    [
        ("GET", "/api/v1/no-such-thing", {}, 404),
        ("GET", "/nowhere", {}, 404),
        ("GET", "/api/v1/events", {}, 405),
        ("POST", "/api/v1/events", {"data": "x=1", "content_type": "application/x-www-form-urlencoded"}, 415),
        ("POST", "/api/v1/events", {"data": b"[" + b" " * (2 * 1024 * 1024) + b"]"}, 413),
    ],
)
def test_framework_errors_are_json(make_app, method, path, kwargs, status):
    app = make_app(MAX_CONTENT_LENGTH=1024 * 1024)
    with app.app_context():
        headers = bearer(create_user("lms", "service"))
        kwargs.setdefault("content_type", "application/json")
        response = app.test_client().open(path, method=method, headers=headers, **kwargs)
        assert_error_shape(response, status)
        if status == 405:
            assert "POST" in response.headers["Allow"]


# --- refusals made outside the Flask views: gunicorn's own, and the WebSocket --------------------------


def raw_exchange(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (no client library would send these) and read the whole answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.integration
@pytest.mark.parametrize(
    "request_bytes,status",
    [
        (b"GET /api/v1/learners?x=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        (b"GET /health HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(150)) + b"\r\n", 431),
        (b"GET /health HTTP/1.1\r\nHost: t\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n", 431),
        (b"NOT A REQUEST\r\n\r\n", 400),
        (b"GET /api/v1/nowhere HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 404),
    ],
)
def test_web_server_refusals_are_json(web, request_bytes, status):
    got, headers, body = raw_exchange(web, request_bytes)
    assert got == status and headers["content-type"] == "application/json", (got, headers, body[:300])
    document = json.loads(body)
    assert set(document["error"]) == set(error_body(status, "x")["error"]) and document["error"]["status"] == status


def test_worker_error_shape_matches_the_api():
    import web_workers  # noqa: PLC0415

    for status in (400, 414, 431, 500):
        assert web_workers.error_body(status, "m") == error_body(status, "m")


@pytest.mark.integration
@pytest.mark.parametrize("authenticated", [True, False])
def test_deeply_nested_websocket_frame_is_a_client_error(web, make_app, authenticated):
    app = make_app()
    with app.app_context():
        token = bearer(create_user("amy", "learner"))["Authorization"].split()[1]
    client = Socket(web, "/ws", **({"token": token} if authenticated else {}))
    if authenticated:
        assert client.recv()["type"] == "subscribed"
    client.ws.send(deep(5000, '{"type": "ping"}'))
    code, messages = client.closed_with()
    assert code == 4400, (code, messages)
    assert [m["data"]["code"] for m in messages] == ["bad_request"] and messages[0]["data"]["field"] == "message"
