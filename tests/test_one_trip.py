"""The one-trip lane for single events (api/events/one_trip.py): it stores exactly what the general path would,
and leaves every other case (unknown learner or reference, a non-learner, an id already used) to that path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from api.events import one_trip
from api.events.ingest import validate_events
from models import Course, Event, Module, Section, Subject, User, db
from tests.conftest import bearer, create_user

AT = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
SKEW = timedelta(minutes=5)
COMPARED = ("kind", "occurred_at", "course_id", "module_id", "section_id", "subject_id", "duration_seconds")

CASES: dict[str, dict[str, Any]] = {
    "plain activity": {"kind": "activity", "learner": "amy", "duration_seconds": 60},
    "anonymous": {"kind": "activity", "learner": "amy", "id": None},
    "heartbeat": {"kind": "heartbeat", "learner": "amy", "course": "c1"},
    "module completed, course from the module": {"kind": "module_completed", "learner": "amy", "module": "m1"},
    "module in its course": {"kind": "activity", "learner": "amy", "module": "m1", "course": "c1"},
    "module in another course": {"kind": "activity", "learner": "amy", "module": "m1", "course": "c2"},
    "every reference": {
        "kind": "activity",
        "learner": "amy",
        "course": "c1",
        "module": "m1",
        "section": "s1",
        "subject": "math",
        "duration_seconds": 1.5,
    },
    "unknown course": {"kind": "activity", "learner": "amy", "course": "nope"},
    "unknown section": {"kind": "activity", "learner": "amy", "section": "nope"},
    "unknown learner, created": {"kind": "activity", "learner": "new-{lane}"},
    "an educator is no learner": {"kind": "activity", "learner": "ted"},
    "assessment (not the lane's)": {"kind": "assessment", "learner": "amy", "score": 3, "max_score": 4, "skill": "k"},
}


@pytest.fixture
def catalog(app):
    create_user("amy", "learner")
    create_user("ted", "educator")
    c1, c2 = Course(external_id="c1", title="C1"), Course(external_id="c2", title="C2")
    db.session.add_all([c1, c2, Subject(external_id="math", name="Maths")])
    db.session.flush()
    db.session.add_all(
        [Module(external_id="m1", course_id=c1.id, title="M1"), Section(external_id="s1", name="S1", course_id=c1.id)]
    )
    db.session.commit()


def body(case: str, lane: str) -> dict[str, Any]:
    fields = {key: value.format(lane=lane) if isinstance(value, str) else value for key, value in CASES[case].items()}
    event = {"id": f"{lane}-{case}", "occurred_at": AT, **fields}
    return {key: value for key, value in event.items() if value is not None}


def stored_view(pk: int) -> tuple[Any, ...]:
    row = db.session.get(Event, pk)
    learner = db.session.get(User, row.learner_id).external_id
    return (learner.replace("grouped", "alone"), *(getattr(row, name) for name in COMPARED))


def test_grouped_single_events_answer_and_store_exactly_as_events_stored_alone(make_app, catalog):
    """The same requests through the group commit (the lane, on PostgreSQL) and with it off (the general path):
    the same status, answer and stored row, case by case, and a re-send is a duplicate either way."""
    grouped, alone = make_app(INGEST_GROUP_LIMIT=64), make_app(INGEST_GROUP_LIMIT=1)
    with grouped.app_context():
        headers = bearer(create_user("lms", "service"))
    for case in CASES:
        answers = {}
        for lane, app in (("grouped", grouped), ("alone", alone)):
            with app.app_context(), app.test_client() as http:
                sent = body(case, lane)
                first = http.post("/api/v1/events", json=sent, headers=headers)
                again = http.post("/api/v1/events", json=sent, headers=headers)
                changed = http.post("/api/v1/events", json={**sent, "occurred_at": AT[:-6] + "+01:00"}, headers=headers)
                stored = [stored_view(pk) for pk in (first.json or {}).get("ids", [])]
                answers[lane] = [(r.status_code, _without_ids(r.json, lane)) for r in (first, again, changed)], stored
        assert answers["grouped"] == answers["alone"], case


def _without_ids(answer: dict[str, Any], lane: str) -> Any:
    """An answer with what must differ between the two runs (row ids, the run's name in client ids) taken out."""
    text = repr({key: value for key, value in answer.items() if key != "ids"})
    return text.replace(lane, "<run>")


def test_the_lane_stores_only_what_needs_nothing_but_its_row(app, catalog):
    """On PostgreSQL: each eligible event stored with its learner, or left (None) with nothing written; on
    SQLite the lane is not available and the general path stores everything."""
    events = dict(zip(CASES, validate_events([body(case, "lane") for case in CASES], "events", SKEW)))
    lane = {case: event for case, event in events.items() if one_trip.eligible(event)}
    assert set(events) - set(lane) == {"assessment (not the lane's)"}
    if not one_trip.available():
        assert db.engine.dialect.name == "sqlite"
        return
    outcomes = dict(zip(lane, one_trip.store_in_one_trip(list(lane.values()))))
    amy = db.session.scalar(sa.select(User.id).where(User.external_id == "amy"))
    left = {case for case, stored in outcomes.items() if stored is None}
    assert left == {
        "module in another course",
        "unknown course",
        "unknown section",
        "unknown learner, created",
        "an educator is no learner",
    }
    assert all(stored[1] == amy for stored in outcomes.values() if stored is not None)
    rows = dict(db.session.execute(sa.select(Event.client_id, Event.id)).all())
    assert {case: rows.get(f"lane-{case}") for case in outcomes if case != "anonymous"} == {
        case: stored and stored[0] for case, stored in outcomes.items() if case != "anonymous"
    }
    again = one_trip.store_in_one_trip(list(lane.values()))  # every client id is taken; an anonymous event is new
    assert [case for case, stored in zip(lane, again) if stored is not None] == ["anonymous"]


@pytest.mark.parametrize("last", ["names a course", "names nothing"])
def test_one_statement_tells_each_event_of_a_group_apart(app, catalog, monkeypatch, last):
    """Within one group: a repeated client id is stored once (for its first event, whatever the second holds),
    identical anonymous events are each stored, and each event is matched to its own row (an id whose first event
    made no row is the later event's). Events naming the same references are one statement; a group of one such
    run is sent without a pipeline (of two runs: in one pipeline)."""
    pipelines = []
    monkeypatch.setattr(psycopg.Connection, "pipeline", _counted(psycopg.Connection.pipeline, pipelines))
    raws = [
        {"id": "same", "learner": "amy", "kind": "activity", "occurred_at": AT},
        {"id": "same", "learner": "amy", "kind": "activity", "occurred_at": AT},
        {"id": "twice", "learner": "amy", "kind": "activity", "occurred_at": AT, "duration_seconds": 1},
        {"id": "twice", "learner": "amy", "kind": "activity", "occurred_at": AT, "duration_seconds": 2},
        {"learner": "amy", "kind": "heartbeat", "occurred_at": AT},
        {"learner": "amy", "kind": "heartbeat", "occurred_at": AT},
        {"id": "late", "learner": "nobody", "kind": "activity", "occurred_at": AT},  # no row: the next one's id
        {"id": "late", "learner": "amy", "kind": "activity", "occurred_at": AT},
        {"id": "other", "learner": "amy", "kind": "activity", "occurred_at": AT, "course": "c2"},
    ]
    if last == "names nothing":
        raws[-1] = {"id": "other", "learner": "amy", "kind": "activity", "occurred_at": AT}
    events = validate_events(raws, "events", SKEW)
    if not one_trip.available():
        assert db.engine.dialect.name == "sqlite"
        return
    outcomes = one_trip.store_in_one_trip(events)
    assert [stored is not None for stored in outcomes] == [True, False, True, False, True, True, False, True, True]
    ids = [stored[0] for stored in outcomes if stored is not None]
    assert len(set(ids)) == 6 and ids[2] < ids[3]  # anonymous events get their ids in the group's order
    rows = {
        pk: (client_id, duration, course)
        for pk, client_id, duration, course in db.session.execute(
            sa.select(Event.id, Event.client_id, Event.duration_seconds, Event.course_id)
        )
    }
    c2 = db.session.scalar(sa.select(Course.id).where(Course.external_id == "c2"))
    assert [rows[pk] for pk in ids] == [
        ("same", None, None),
        ("twice", 1, None),
        (None, None, None),
        (None, None, None),
        ("late", None, None),
        ("other", None, c2 if last == "names a course" else None),
    ]
    assert len(pipelines) == (1 if last == "names a course" else 0)


def _counted(method: Any, calls: list[Any], note_self: bool = False) -> Any:
    """`method` that also notes each call (its arguments, or with `note_self` its object) in `calls`."""

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(self if note_self else args)
        return method(self, *args, **kwargs)

    return counted


def test_a_group_is_one_transaction_committed_when_the_call_returns(app, catalog, monkeypatch):
    """The group's INSERTs are one implicit transaction: an error in the last event stores none of them, and the
    connection is usable again; a group that succeeds is committed when the call returns (another connection sees
    it at once). The lane takes a pooled connection, not the session's, and gives it back out of autocommit."""
    if not one_trip.available():
        assert db.engine.dialect.name == "sqlite"
        return
    first, second = validate_events(
        [{"id": f"tx-{n}", "learner": "amy", "kind": "activity", "occurred_at": AT} for n in (1, 2)], "events", SKEW
    )
    used = []
    monkeypatch.setattr(psycopg.Connection, "cursor", _counted(psycopg.Connection.cursor, used, note_self=True))
    with pytest.raises(Exception, match="duration|float|double"):  # noqa: PT011  (the driver's or the server's error)
        one_trip.store_in_one_trip([first, {**second, "duration_seconds": "not a number"}])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0
    db.session.remove()
    assert one_trip.store_in_one_trip([first, second])[1] is not None
    assert not db.session.registry.has()  # the lane made no session
    with db.engine.connect() as other:
        assert other.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.client_id.like("tx-%"))) == 2
    assert used and not any(connection.autocommit for connection in used)  # given back to the pool as taken


def test_a_connection_the_server_dropped_fails_the_lane_and_the_pool_starts_afresh(app, catalog):
    """PostgreSQL restarted (every backend gone): the lane's insert fails (the group then goes the general way),
    and, as when the session met a dropped connection, every pooled connection is replaced: the general path and
    the lane's next group work at once."""
    if not one_trip.available():
        assert db.engine.dialect.name == "sqlite"
        return
    events = validate_events(
        [{"id": f"drop-{n}", "learner": "amy", "kind": "activity", "occurred_at": AT} for n in (1, 2, 3)],
        "events",
        SKEW,
    )
    assert one_trip.store_in_one_trip(events[:1])[0] is not None
    db.session.remove()
    taken = [db.engine.raw_connection() for _ in range(3)]  # several connections wait in the pool, as under load
    for pooled in taken:
        pooled.close()
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    with pytest.raises((psycopg.OperationalError, sa.exc.OperationalError)):  # the driver's, or wrapped (a session's)
        one_trip.store_in_one_trip(events[1:2])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.client_id.like("drop-%"))) == 1
    assert one_trip.store_in_one_trip(events[1:])[0] is not None


def test_a_run_of_events_naming_references_is_one_statement_with_each_events_joins(app, catalog, monkeypatch):
    """Three events naming a module and a course are one INSERT whose every SELECT has its own joins: the module
    in its course is stored (twice), the one in another course is left to the general path."""
    if not one_trip.available():
        assert db.engine.dialect.name == "sqlite"
        return
    pipelines = []
    monkeypatch.setattr(psycopg.Connection, "pipeline", _counted(psycopg.Connection.pipeline, pipelines))
    raws = [
        {"id": f"run-{n}", "learner": "amy", "kind": "activity", "occurred_at": AT, "module": "m1", "course": course}
        for n, course in enumerate(["c1", "c2", "c1"])
    ]
    outcomes = one_trip.store_in_one_trip(validate_events(raws, "events", SKEW))
    assert [stored is not None for stored in outcomes] == [True, False, True] and not pipelines
    c1, m1 = (db.session.scalar(sa.select(t.id).where(t.external_id == x)) for t, x in ((Course, "c1"), (Module, "m1")))
    rows = db.session.execute(sa.select(Event.client_id, Event.course_id, Event.module_id).order_by(Event.id)).all()
    assert [tuple(row) for row in rows] == [("run-0", c1, m1), ("run-2", c1, m1)]
