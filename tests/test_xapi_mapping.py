"""From statements to LearnPulse events by the mapping table: the default vocabulary, actors and places,
what cannot be mapped (stored, counted, no event), the event path's idempotency and evaluation
enqueue, and a mapping file that overrides the table."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis
import sqlalchemy as sa

from models import Course, Event, Module, Section, User, XapiStatement, db
from services.dispatch import PENDING_SET
from services.xapi.mapping_table import MappingError
from tests.conftest import create_user
from tests.xapi_data import HOME, VERSION, scored, statement

LMS_ID = "https://learnpulse.io/xapi/extensions/lms-id"
M1 = "https://lms.example.org/m1"
C1 = "https://lms.example.org/c1"
S1 = "https://lms.example.org/s1"


@pytest.fixture
def place(app):
    """Course C1 (by IRI) with module M1 (by IRI) and module m2 (by LMS id), section S1, learner amy (with an
    email), educator ted."""
    course = Course(external_id=C1, title="C1")
    db.session.add(course)
    db.session.flush()
    db.session.add_all(
        [
            Module(external_id=M1, course_id=course.id, title="M1"),
            Module(external_id="m2", course_id=course.id, title="M2"),
            Section(external_id=S1, name="S1", course_id=course.id),
        ]
    )
    amy = create_user("amy", "learner")
    amy.email = "Amy@Example.org"
    create_user("ted", "educator")
    db.session.commit()


@pytest.fixture
def xapi(service) -> dict[str, str]:
    return {**service, **VERSION}


def event_of(statement_id: str) -> dict | None:
    row = db.session.execute(
        sa.select(Event, User.external_id)
        .join(User, User.id == Event.learner_id)
        .where(Event.client_id == statement_id)
    ).first()
    if row is None:
        return None
    event, learner = row
    modules = dict(db.session.execute(sa.select(Module.id, Module.external_id)).all())
    out = {"kind": event.kind, "learner": learner}
    if event.module_id:
        out["module"] = modules[event.module_id]
    elif event.course_id:
        out["course"] = db.session.scalar(sa.select(Course.external_id).where(Course.id == event.course_id))
    for name in ("score", "max_score", "duration_seconds", "status"):
        if getattr(event, name) is not None:
            out[name] = getattr(event, name)
    return out


FUTURE = (datetime.now(UTC) + timedelta(days=2)).isoformat()
CASES = [
    (
        "experienced a module",
        statement(activity=M1, result={"duration": "PT5M"}),
        {"kind": "activity", "module": M1, "duration_seconds": 300.0},
    ),
    ("completed a module", statement(verb="completed", activity=M1), {"kind": "module_completed", "module": M1}),
    ("passed a module", statement(verb="passed", activity=M1), {"kind": "module_completed", "module": M1}),
    ("completed a course", statement(verb="completed", activity=C1), {"kind": "activity", "course": C1}),
    (
        "completed something else",
        statement(verb="completed", activity="https://x.org/1"),
        "no LearnPulse module or course",
    ),
    (
        "passed a scored assessment",
        statement(
            verb="passed",
            object={
                "id": "https://x.org/exam",
                "definition": {"type": "http://adlnet.gov/expapi/activities/assessment"},
            },
            result={"score": {"scaled": 0.9}},
        ),
        {"kind": "assessment", "score": 90.0, "max_score": 100.0},
    ),
    (
        "scored raw/max",
        scored("amy", 40, 50, M1),
        {"kind": "assessment", "score": 40.0, "max_score": 50.0, "module": M1},
    ),
    (
        "scored raw with min",
        statement(verb="scored", result={"score": {"raw": 15, "min": 10, "max": 20}}),
        {"kind": "assessment", "score": 5.0, "max_score": 10.0},
    ),
    (
        "answered scaled",
        statement(verb="answered", result={"score": {"scaled": 0.25}}),
        {"kind": "assessment", "score": 25.0, "max_score": 100.0},
    ),
    (
        "failed with a score",
        statement(verb="failed", result={"score": {"raw": 3, "max": 10}}),
        {"kind": "assessment", "score": 3.0, "max_score": 10.0},
    ),
    ("answered without a score", statement(verb="answered"), {"kind": "activity"}),
    ("scored without a score", statement(verb="scored"), "no mapping rule for verb"),
    ("attended a section", statement(verb="attended", activity=S1), {"kind": "attendance", "status": "present"}),
    ("attended something else", statement(verb="attended", activity="https://x.org/lecture"), "no LearnPulse section"),
    ("launched", statement(verb="launched"), {"kind": "activity"}),
    ("progressed", statement(verb="progressed"), {"kind": "activity"}),
    ("unknown verb", statement(verb="shared"), "no mapping rule for verb http://adlnet.gov/expapi/verbs/shared"),
    (
        "module by LMS id extension",
        statement(
            verb="completed", object={"id": "https://x.org/page/9", "definition": {"extensions": {LMS_ID: "m2"}}}
        ),
        {"kind": "module_completed", "module": "m2"},
    ),
    (
        "module from the context parent",
        scored(
            "amy",
            7,
            10,
            "https://x.org/quiz/1",
            context={"contextActivities": {"parent": [{"id": M1}], "grouping": [{"id": C1}]}},
        ),
        {"kind": "assessment", "module": M1, "score": 7.0, "max_score": 10.0},
    ),
    ("learner by mbox", statement(actor={"mbox": "mailto:amy@example.org"}), {"kind": "activity", "learner": "amy"}),
    ("unknown mbox", statement(actor={"mbox": "mailto:who@example.org"}), "names no LearnPulse learner"),
    ("openid actor", statement(actor={"openid": "https://id.example.org/amy"}), "names no LearnPulse learner"),
    (
        "group actor",
        statement(actor={"objectType": "Group", "account": {"homePage": HOME, "name": "g"}}),
        "only an Agent",
    ),
    ("educator actor", statement("ted"), "'ted' is a educator, not a learner"),
    ("new learner is created", statement("zoe"), {"kind": "activity", "learner": "zoe"}),
    ("dated in the future", statement(timestamp=FUTURE), "the timestamp is in the future"),
]


@pytest.mark.parametrize(("case", "body", "expected"), CASES, ids=[c for c, _, _ in CASES])
def test_statements_map_to_events(client, xapi, place, case, body, expected):
    response = client.post("/xapi/statements", json=body, headers=xapi)
    assert response.status_code == 200, response.get_data(as_text=True)
    (statement_id,) = response.get_json()
    row = db.session.scalar(sa.select(XapiStatement).where(XapiStatement.statement_id == statement_id))
    event = event_of(statement_id)
    if isinstance(expected, str):
        assert event is None and expected in row.unmapped_reason and row.event_kind is None
        assert client.get("/health").get_json()["checks"]["xapi"]["unmapped"] == 1
        # stored and returned all the same
        assert client.get(f"/xapi/statements?statementId={statement_id}", headers=xapi).status_code == 200
    else:
        learner = body["actor"].get("account", {}).get("name", "amy")
        assert event == {"learner": learner, **expected}
        assert row.event_kind == expected["kind"] and row.unmapped_reason is None


def test_mapped_statements_share_the_event_path(client, xapi, place, app):
    """Same idempotency (statement id = event id), evaluation enqueue and counts as POST /api/v1/events."""
    statements = [scored("amy", 30, 100, M1), statement(verb="completed", activity=M1), statement(verb="shared")]
    ids = client.post("/xapi/statements", json=statements, headers=xapi).get_json()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 2
    assert set(db.session.scalars(sa.select(Event.client_id))) == set(ids[:2])
    again = client.post("/xapi/statements", json=[{**s, "id": i} for s, i in zip(statements, ids)], headers=xapi)
    assert again.status_code == 200 and again.get_json() == ids
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 2  # nothing ingested twice
    amy = db.session.scalar(sa.select(User.id).where(User.external_id == "amy"))
    client_redis = redis.Redis.from_url(app.config["REDIS_URL"])
    assert str(amy).encode() in client_redis.smembers(PENDING_SET)  # the evaluation was requested
    metrics = {k.decode(): int(v) for k, v in client_redis.hgetall("learnpulse:metrics:xapi").items()}
    assert metrics == {"statements": 3, "duplicates": 3, "events": 2, "unmapped": 1}
    # an event id already used by POST /api/v1/events with another body is a conflict, and nothing is stored
    clash = str(uuid.uuid4())
    event = {"id": clash, "learner": "amy", "kind": "activity", "occurred_at": "2026-01-01T10:00:00Z"}
    assert client.post("/api/v1/events", json=event, headers=xapi).status_code == 201
    response = client.post("/xapi/statements", json={**statement(), "id": clash}, headers=xapi)
    assert response.status_code == 409
    assert db.session.scalar(sa.select(XapiStatement).where(XapiStatement.statement_id == clash)) is None


def test_a_mapping_file_overrides_the_table(make_app, tmp_path):
    mapping = {
        "rules": [{"verbs": ["https://w3id.org/xapi/acrossx/verbs/watched"], "kind": "activity"}],
        "activity_patterns": [{"pattern": r"/course/view\.php\?id=(?P<id>\d+)$", "entity": "course"}],
        "account_home_pages": [HOME],
    }
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(mapping))
    app = make_app(XAPI_MAPPING_FILE=str(path))
    with app.app_context():
        db.session.add(Course(external_id="42", title="C42"))
        lms = create_user("lms", "service")
        db.session.commit()
        from tests.conftest import bearer

        headers = {**bearer(lms), **VERSION}
        client = app.test_client()
        watched = statement(activity="https://moodle.example.org/course/view.php?id=42")
        watched["verb"] = {"id": "https://w3id.org/xapi/acrossx/verbs/watched"}
        other_home = statement(activity="https://moodle.example.org/course/view.php?id=42")
        other_home["verb"] = watched["verb"]
        other_home["actor"]["account"]["homePage"] = "https://elsewhere.example.org"
        ids = client.post("/xapi/statements", json=[watched, other_home, statement()], headers=headers).get_json()
        course_id = db.session.scalar(sa.select(Course.id).where(Course.external_id == "42"))
        assert db.session.scalar(sa.select(Event.course_id).where(Event.client_id == ids[0])) == course_id
        reasons = dict(db.session.execute(sa.select(XapiStatement.statement_id, XapiStatement.unmapped_reason)).all())
        assert "not a mapped LMS" in reasons[ids[1]]
        assert "no mapping rule" in reasons[ids[2]]  # the file's rules replaced the default ones


@pytest.mark.parametrize(
    "content",
    [
        '{"rules": [{"verbs": ["x"], "kind": "party"}]}',
        '{"colours": []}',
        "not json",
        '{"activity_patterns": [{"pattern": "(", "entity": "course"}]}',
    ],
)
def test_a_bad_mapping_file_stops_the_app(make_app, tmp_path, content):
    path = tmp_path / "mapping.json"
    path.write_text(content)
    with pytest.raises(MappingError):
        make_app(XAPI_MAPPING_FILE=str(path))


def test_unknown_learners_are_unmapped_when_auto_creation_is_off(make_app):
    from tests.conftest import bearer

    app = make_app(AUTO_CREATE_LEARNERS=False)
    with app.app_context():
        headers = {**bearer(create_user("lms", "service")), **VERSION}
        (statement_id,) = (
            app.test_client().post("/xapi/statements", json=statement("nobody"), headers=headers).get_json()
        )
        reason = db.session.scalar(
            sa.select(XapiStatement.unmapped_reason).where(XapiStatement.statement_id == statement_id)
        )
        assert "auto-creation is off" in reason
        assert db.session.scalar(sa.select(User).where(User.external_id == "nobody")) is None
