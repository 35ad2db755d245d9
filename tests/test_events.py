"""POST /api/v1/events: storage, idempotency, conflicts, and every refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from models import Attendance, Course, Event, Exam, Grade, Module, Section, User, db
from tests.conftest import bearer, create_user

NOW = datetime.now(UTC)


def iso(delta_minutes: float = -60) -> str:
    return (NOW + timedelta(minutes=delta_minutes)).isoformat()


@pytest.fixture
def catalog(app):
    course = Course(external_id="c1", title="Course 1")
    other = Course(external_id="c2", title="Course 2")
    db.session.add_all([course, other])
    db.session.flush()
    db.session.add_all(
        [
            Module(external_id="m1", course_id=course.id, title="M1"),
            Section(external_id="s1", name="S1", course_id=course.id),
            Exam(external_id="e1", title="Midterm", max_marks=50),
        ]
    )
    db.session.commit()


def post(client, headers, body, **kwargs):
    return client.post("/api/v1/events", json=body, headers=headers, **kwargs)


def count_events() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Event))


def test_single_event_is_stored_and_learner_created(client, service, catalog):
    response = post(
        client,
        service,
        {"id": "a1", "learner": "L1", "kind": "activity", "occurred_at": iso(), "module": "m1", "duration_seconds": 60},
    )
    assert response.status_code == 201, response.json
    assert response.json["stored"] == 1 and response.json["duplicates"] == 0
    event = db.session.get(Event, response.json["ids"][0])
    learner = db.session.get(User, event.learner_id)
    assert (learner.external_id, learner.role) == ("L1", "learner")
    assert event.course_id == db.session.scalar(sa.select(Course.id).where(Course.external_id == "c1"))


def test_batch_answers_counts_and_ids_in_order(client, service, catalog):
    events = [
        {
            "id": f"b{i}",
            "learner": f"L{i % 3}",
            "kind": "assessment",
            "occurred_at": iso(-i),
            "score": i,
            "max_score": 10,
            "skill": "fractions",
        }
        for i in range(10)
    ]
    response = post(client, service, {"events": events})
    assert response.status_code == 201
    assert response.json["stored"] == 10
    stored = [db.session.get(Event, pk).client_id for pk in response.json["ids"]]
    assert stored == [f"b{i}" for i in range(10)]


def test_same_event_twice_is_stored_once_and_reported(client, service, catalog):
    event = {"id": "dup", "learner": "L1", "kind": "activity", "occurred_at": "2026-01-01T10:00:00+02:00"}
    assert post(client, service, event).status_code == 201
    again = post(client, service, {**event, "occurred_at": "2026-01-01T08:00:00Z"})  # same instant, other spelling
    assert again.status_code == 200
    assert again.json == {"stored": 0, "duplicates": 1, "ids": [], "duplicate_ids": ["dup"]}
    assert count_events() == 1


def test_same_id_with_a_different_body_is_a_conflict(client, service, catalog):
    event = {"id": "x", "learner": "L1", "kind": "assessment", "occurred_at": iso(), "score": 5, "max_score": 10}
    assert post(client, service, event).status_code == 201
    response = post(client, service, {"events": [{**event, "id": "fresh"}, {**event, "score": 6}]})
    assert response.status_code == 409
    assert response.json["error"]["details"][0]["path"] == "events[1].id"
    assert count_events() == 1  # the fresh one was not stored either


def test_duplicate_inside_one_batch(client, service, catalog):
    event = {"id": "in", "learner": "L1", "kind": "activity", "occurred_at": iso()}
    response = post(client, service, {"events": [event, event]})
    assert response.json["stored"] == 1 and response.json["duplicates"] == 1
    conflict = post(client, service, {"events": [{**event, "id": "in2"}, {**event, "id": "in2", "learner": "L2"}]})
    assert conflict.status_code == 409


def test_invalid_batch_lists_every_bad_item_and_stores_nothing(client, service, catalog):
    events = [
        {"id": "ok", "learner": "L1", "kind": "activity", "occurred_at": iso()},
        {"id": "s", "learner": "L1", "kind": "assessment", "occurred_at": iso(), "score": 11, "max_score": 10},
        {"learner": "L1", "kind": "teleport", "occurred_at": iso()},
        {"learner": "L1", "kind": "activity", "occurred_at": iso(60 * 24)},
        {"learner": "L1", "kind": "activity", "occurred_at": iso(), "role": "admin"},
        {"learner": "L1", "kind": "activity", "occurred_at": "yesterday"},
        {"learner": "L1", "kind": "activity", "occurred_at": "2026-01-01T10:00:00"},
        {"kind": "activity", "occurred_at": iso()},
        {"learner": "L1", "kind": "module_completed", "occurred_at": iso(), "module": "nope"},
        {"learner": "L1", "kind": "activity", "occurred_at": iso(), "score": 3},
        "not an object",
    ]
    response = post(client, service, {"events": events})
    assert response.status_code == 422
    problems = {(d["index"], d["path"]): d["reason"] for d in response.json["error"]["details"]}
    assert problems[(1, "events[1].score")].startswith("must be between 0 and max_score")
    assert "must be one of" in problems[(2, "events[2].kind")]
    assert "future" in problems[(3, "events[3].occurred_at")]
    assert problems[(4, "events[4].role")] == "unknown field"
    assert "ISO-8601" in problems[(5, "events[5].occurred_at")]
    assert "offset" in problems[(6, "events[6].occurred_at")]
    assert problems[(7, "events[7].learner")] == "is required"
    assert problems[(9, "events[9].score")] == "is not allowed for kind activity"
    assert (10, "events[10]") in problems
    assert 0 not in {index for index, _ in problems}
    assert count_events() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.external_id == "L1")) == 0


def test_unknown_references_are_named(client, service, catalog):
    response = post(
        client,
        service,
        {
            "events": [
                {"learner": "L1", "kind": "module_completed", "occurred_at": iso(), "module": "ghost"},
                {"learner": "L1", "kind": "activity", "occurred_at": iso(), "module": "m1", "course": "c2"},
                {"learner": "L1", "kind": "grade", "exam": "e1", "marks": 51},
                {"learner": "L1", "kind": "attendance", "section": "s9", "date": "2026-01-05", "status": "present"},
            ]
        },
    )
    assert response.status_code == 422
    reasons = {d["path"]: d["reason"] for d in response.json["error"]["details"]}
    assert reasons["events[0].module"] == "unknown module 'ghost'"
    assert "not in course" in reasons["events[1].module"]
    assert "max_marks (50)" in reasons["events[2].marks"]
    assert reasons["events[3].section"] == "unknown section 's9'"


@pytest.mark.parametrize(
    "event, path",
    [
        (
            {
                "learner": "L1",
                "kind": "assessment",
                "occurred_at": "2026-01-01T00:00:00Z",
                "score": -1,
                "max_score": 10,
            },
            "score",
        ),
        (
            {"learner": "L1", "kind": "assessment", "occurred_at": "2026-01-01T00:00:00Z", "score": 0, "max_score": 0},
            "max_score",
        ),
        (
            {
                "learner": "L1",
                "kind": "assessment",
                "occurred_at": "2026-01-01T00:00:00Z",
                "score": "9",
                "max_score": 10,
            },
            "score",
        ),
        (
            {
                "learner": "L1",
                "kind": "assessment",
                "occurred_at": "2026-01-01T00:00:00Z",
                "score": True,
                "max_score": 10,
            },
            "score",
        ),
        ({"learner": "", "kind": "activity", "occurred_at": "2026-01-01T00:00:00Z"}, "learner"),
        (
            {"learner": "L1", "kind": "activity", "occurred_at": "2026-01-01T00:00:00Z", "duration_seconds": -5},
            "duration_seconds",
        ),
        ({"learner": "L1", "kind": "attendance", "section": "s1", "date": "2026-02-30", "status": "present"}, "date"),
        ({"learner": "L1", "kind": "attendance", "section": "s1", "date": "2026-01-05", "status": "asleep"}, "status"),
        ({"learner": "L1", "kind": "grade", "exam": "e1"}, "marks"),
        ({"learner": "L1" * 100, "kind": "activity", "occurred_at": "2026-01-01T00:00:00Z"}, "learner"),
    ],
)
def test_single_event_refusals_name_the_field(client, service, catalog, event, path):
    response = post(client, service, event)
    assert response.status_code == 422
    assert path in [d["path"] for d in response.json["error"]["details"]]
    assert count_events() == 0


def test_auto_creation_can_be_switched_off(make_app):
    app = make_app(AUTO_CREATE_LEARNERS=False)
    with app.app_context():
        headers = bearer(create_user("lms", "service"))
        create_user("known", "learner")
        client = app.test_client()
        response = post(
            client,
            headers,
            {
                "events": [
                    {"learner": "known", "kind": "activity", "occurred_at": iso()},
                    {"learner": "stranger", "kind": "activity", "occurred_at": iso()},
                ]
            },
        )
        assert response.status_code == 422
        assert response.json["error"]["details"][0]["path"] == "events[1].learner"
        assert "auto-creation is off" in response.json["error"]["details"][0]["reason"]
        assert count_events() == 0


def test_event_for_a_non_learner_is_refused(client, service, catalog):
    create_user("teacher", "educator")
    response = post(client, service, {"learner": "teacher", "kind": "activity", "occurred_at": iso()})
    assert response.status_code == 422
    assert "educator, not a learner" in response.json["error"]["details"][0]["reason"]


def test_grades_and_attendance_keep_current_rows(client, service, catalog):
    events = [
        {"learner": "L1", "kind": "grade", "exam": "e1", "marks": 30},
        {"learner": "L1", "kind": "attendance", "section": "s1", "date": "2026-01-05", "status": "absent"},
        {"learner": "L1", "kind": "attendance", "section": "s1", "date": "2026-01-05", "status": "late"},
    ]
    assert post(client, service, {"events": events}).status_code == 201
    assert post(client, service, {"learner": "L1", "kind": "grade", "exam": "e1", "marks": 40}).status_code == 201
    assert db.session.scalar(sa.select(Grade.marks)) == 40
    assert db.session.scalars(sa.select(Attendance.status)).all() == ["late"]
    assert count_events() == 4  # the log keeps every report


def test_body_shape_errors(client, service, catalog):
    assert post(client, service, {"events": []}).status_code == 422
    assert post(client, service, {"events": "x"}).status_code == 422
    assert post(client, service, {"events": [], "extra": 1}).json["error"]["details"][0]["path"] == "extra"
    assert post(client, service, [1, 2]).status_code == 422
    raw = client.post("/api/v1/events", data="{not json", headers={**service, "Content-Type": "application/json"})
    assert raw.status_code == 400 and raw.json["error"]["details"][0]["path"] == "body"


def test_wrong_content_type_is_415(client, service):
    response = client.post("/api/v1/events", data="learner=L1", headers={**service, "Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.json["error"]["code"] == "unsupported_media_type"


def test_oversized_body_is_413(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1000)
    with app.app_context():
        headers = bearer(create_user("lms", "service"))
        body = {"events": [{"learner": "L1", "kind": "activity", "occurred_at": iso()}] * 50}
        response = post(app.test_client(), headers, body)
        assert response.status_code == 413
        assert response.json["error"]["code"] == "payload_too_large"


def test_more_than_5000_events_is_413(client, service):
    body = {"events": [{"learner": "L1", "kind": "activity", "occurred_at": iso()}] * 5001}
    response = post(client, service, body)
    assert response.status_code == 413
    assert "5000" in response.json["error"]["message"]
    assert count_events() == 0


def test_full_batch_of_5000_is_accepted(client, service):
    body = {
        "events": [
            {"id": f"big{i}", "learner": f"L{i % 50}", "kind": "activity", "occurred_at": iso(-i)} for i in range(5000)
        ]
    }
    response = post(client, service, body)
    assert response.status_code == 201 and response.json["stored"] == 5000
    assert count_events() == 5000


def test_ingest_requests_one_drain_for_many_requests(client, service, app):
    from services.dispatch import PENDING_SET, claim_batch, finish_batch, start_drain
    from tests.conftest import UNIT_QUEUE

    redis_client = app.extensions["redis"]
    post(client, service, {"events": [{"learner": "L1", "kind": "activity", "occurred_at": iso()}] * 3})
    post(client, service, {"learner": "L2", "kind": "activity", "occurred_at": iso()})
    post(client, service, {"learner": "L1", "kind": "activity", "occurred_at": iso()})
    assert redis_client.llen(UNIT_QUEUE) == 1  # later requests joined the scheduled drain
    ids = dict(db.session.execute(sa.select(User.external_id, User.id)).all())
    assert redis_client.scard(PENDING_SET) == 2
    start_drain()
    assert claim_batch("drain") == sorted([ids["L1"], ids["L2"]])
    finish_batch("drain")
    assert claim_batch("drain") == []
    post(client, service, {"learner": "L1", "kind": "activity", "occurred_at": iso()})
    assert redis_client.llen(UNIT_QUEUE) == 2  # once a drain started, the next event schedules another


def test_large_batches_detect_duplicates_and_conflicts_too(client, service):
    """Batches big enough for the bulk (COPY) path on PostgreSQL behave like small ones."""
    events = [{"id": f"L{i}", "learner": f"L{i % 7}", "kind": "activity", "occurred_at": iso(-i)} for i in range(200)]
    assert post(client, service, {"events": events[:100]}).json["stored"] == 100
    mixed = post(client, service, {"events": events})
    assert mixed.status_code == 201
    assert (mixed.json["stored"], mixed.json["duplicates"]) == (100, 100)
    assert mixed.json["duplicate_ids"] == [f"L{i}" for i in range(100)]
    changed = [dict(event) for event in events]
    changed[150]["duration_seconds"] = 5
    conflict = post(
        client,
        service,
        {"events": changed + [{"id": "new", "learner": "L1", "kind": "activity", "occurred_at": iso()}]},
    )
    assert conflict.status_code == 409
    assert [d["path"] for d in conflict.json["error"]["details"]] == ["events[150].id"]
    assert count_events() == 200


def test_a_batch_touching_more_than_5000_learners_queues_them_all(client, service, app):
    from services.dispatch import PENDING_SET

    body = {"events": [{"learner": f"many{i}", "kind": "activity", "occurred_at": iso()} for i in range(5000)]}
    post(client, service, body)
    post(
        client,
        service,
        {"events": [{"learner": f"more{i}", "kind": "activity", "occurred_at": iso()} for i in range(2)]},
    )
    assert app.extensions["redis"].scard(PENDING_SET) == 5002


def test_events_are_stored_when_redis_is_down(make_app):
    """Evaluation requests and live publishing need Redis; storing does not. The client gets its 201
    (not a 500 that would make it resend), and the events are there for the next sweep."""
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    with app.app_context():
        headers = bearer(create_user("lms", "service"))
        response = app.test_client().post(
            "/api/v1/events",
            headers=headers,
            json={"id": "offline-1", "learner": "amy", "kind": "activity", "occurred_at": "2026-01-01T09:00:00Z"},
        )
        assert response.status_code == 201, response.json
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {
                "id": "e-1",
                "learner": "amy",
                "kind": "assessment",
                "occurred_at": "2026-01-31T09:30:00+02:00",
                "score": 7,
                "max_score": 10.5,
                "skill": "fractions",
                "course": "maths-é",
            },
            "3890700a4f04b4ffcd18d940c9d029f951c77002e92ab2e4df4fadd6752bd671",
        ),
        (
            {"learner": "amy", "kind": "attendance", "section": "s1", "date": "2026-01-30", "status": "present"},
            "6bf220b3c597dd259a17749bd686469e0e81d593e500049d91bc30a9b9d7fcb4",
        ),
        (  # pinned from main before the batch path's fast lane (times in UTC are taken from the text sent)
            {
                "id": "e-2",
                "learner": "Zoë 学生",
                "kind": "activity",
                "occurred_at": "2026-01-31T09:30:00.250000Z",
                "course": "maths-é",
                "duration_seconds": 0.1,
            },
            "5a48229ab35c0dba29813d9d40871e98a9299d559f0287034c5cabd2250e1aa1",
        ),
        (
            {
                "learner": "amy",
                "kind": "heartbeat",
                "occurred_at": "2026-01-31T09:30:00+00:00",
                "duration_seconds": -0.0,
            },
            "d197d41fc2d6032b7ec0aac1818536c98ea7216656cae29243f60f857ece3a7d",
        ),
    ],
)
def test_the_body_hash_of_an_event_never_changes(raw, expected):
    """Stored with every event: a different hash for the same event would turn every re-send of an
    event stored before the change into a 409 (values pinned from the first implementation)."""
    from api.events.ingest import validate_events  # noqa: PLC0415
    from api.events.schemas import validate_event, well_formed_event  # noqa: PLC0415

    now = datetime(2026, 2, 1, tzinfo=UTC)
    clean, errors = validate_event(raw, "", now, timedelta(minutes=5))
    assert not errors and clean["hash"] == expected
    assert well_formed_event(raw, now, now + timedelta(minutes=5))["hash"] == expected  # the batch path's lane
    assert validate_events([raw], "events", timedelta(minutes=5))[0]["hash"] == expected
