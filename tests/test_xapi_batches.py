"""Large statement batches (COPY on PostgreSQL): re-sent and partly re-sent batches, conflicts inside them, and
mapped events that equal what POST /api/v1/events would have stored, bounds included."""

from __future__ import annotations

import threading
import uuid

import pytest
import redis
import sqlalchemy as sa

from api.events.schemas import KIND_FIELDS
from models import Event, Module, Section, XapiStatement, db
from services.xapi import mapping
from tests.conftest import create_user
from tests.test_xapi_mapping import C1, M1, S1, place, xapi  # noqa: F401  (fixtures)
from tests.xapi_data import scored, statement, with_id


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_re_sent_batch_is_recognised_and_only_new_statements_are_stored(client, xapi, app):  # noqa: F811
    first = [with_id(statement(f"l{n}")) for n in range(100)]
    assert client.post("/xapi/statements", json=first, headers=xapi).status_code == 200
    more = [with_id(statement(f"l{n}")) for n in range(10)]
    response = client.post("/xapi/statements", json=first + more, headers=xapi)
    assert response.status_code == 200
    assert response.get_json() == [s["id"] for s in first + more]
    assert count(XapiStatement) == 110 and count(Event) == 110
    stored = db.session.scalars(sa.select(XapiStatement.statement_id).order_by(XapiStatement.id)).all()
    assert stored == [s["id"] for s in first + more]  # the stored order is the batch order
    metrics = redis.Redis.from_url(app.config["REDIS_URL"]).hgetall("learnpulse:metrics:xapi")
    assert {k.decode(): int(v) for k, v in metrics.items()} == {
        "statements": 110,
        "duplicates": 100,
        "events": 110,
        "unmapped": 0,
    }


def test_a_changed_statement_in_a_large_batch_stores_nothing(client, xapi):  # noqa: F811
    first = [with_id(statement(f"l{n}")) for n in range(80)]
    assert client.post("/xapi/statements", json=first, headers=xapi).status_code == 200
    changed = {**first[40], "verb": {"id": "http://adlnet.gov/expapi/verbs/launched"}}
    batch = first[:40] + [changed] + first[41:] + [with_id(statement("new")) for _ in range(5)]
    response = client.post("/xapi/statements", json=batch, headers=xapi)
    assert response.status_code == 409
    assert response.get_json()["error"]["details"] == [
        {"path": "statements[40].id", "reason": f"statement {first[40]['id']} is already stored with different content"}
    ]
    assert count(XapiStatement) == 80 and count(Event) == 80


def test_mapping_bounds_are_the_event_formats():
    assessment, activity = KIND_FIELDS["assessment"], KIND_FIELDS["activity"]
    assert mapping.MAX_SCORE == assessment["max_score"].maximum
    assert mapping.MAX_DURATION_SECONDS == activity["duration_seconds"].maximum
    assert mapping.MAX_LEARNER_ID == activity["learner"].max_length


def _as_event(body: dict, statement_id: str) -> dict:
    """What an LMS would POST to /api/v1/events for the event the statement mapped to."""
    row = db.session.scalar(sa.select(Event).where(Event.client_id == statement_id))
    event = {"id": statement_id, "learner": body["actor"]["account"]["name"], "kind": row.kind}
    event["occurred_at"] = body["timestamp"]
    if row.module_id:
        event["module"] = db.session.scalar(sa.select(Module.external_id).where(Module.id == row.module_id))
    if row.section_id:
        event["section"] = db.session.scalar(sa.select(Section.external_id).where(Section.id == row.section_id))
    for name in ("score", "max_score", "duration_seconds", "status"):
        if getattr(row, name) is not None:
            event[name] = getattr(row, name)
    if row.kind == "attendance":
        event["date"] = body["timestamp"][:10]
    return event


SAME_AS_EVENTS = [
    statement(activity=M1, result={"duration": "PT5M"}),
    statement(verb="completed", activity=M1),
    scored("amy", 40, 50, M1),
    statement(verb="scored", result={"score": {"raw": 15, "min": 10, "max": 20}}),
    statement(verb="answered", result={"score": {"scaled": 0.25}}),
    statement(verb="attended", activity=S1, timestamp="2026-01-05T23:30:00+02:00"),
    statement(verb="launched"),
]


@pytest.mark.parametrize("body", SAME_AS_EVENTS)
def test_a_mapped_event_is_the_one_post_events_stores(client, xapi, place, body):  # noqa: F811
    """The mapper skips the event validator, so its fingerprint must be the validator's: the same event sent to
    POST /api/v1/events under the statement's id is a duplicate, not a conflict."""
    (statement_id,) = client.post("/xapi/statements", json=body, headers=xapi).get_json()
    response = client.post("/api/v1/events", json=_as_event(body, statement_id), headers=xapi)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["duplicate_ids"] == [statement_id]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (statement("x" * 129), "account.name must be a learner id of 1 to 128 characters"),
        (statement(" "), "account.name must be a learner id"),
        (
            statement(verb="scored", result={"score": {"raw": 1, "min": 0, "max": 2e9}}),
            "result.score spans more than 1e+09 points",
        ),
    ],
)
def test_statements_outside_the_event_format_are_stored_unmapped(client, xapi, body, reason):  # noqa: F811
    """Valid xAPI that no event can hold: stored and returned, with the reason (not a 422 for the batch)."""
    create_user("amy", "learner")
    db.session.commit()
    batch = [body, with_id(statement())]
    response = client.post("/xapi/statements", json=batch, headers=xapi)
    assert response.status_code == 200, response.get_json()
    first, second = response.get_json()
    assert reason in db.session.scalar(
        sa.select(XapiStatement.unmapped_reason).where(XapiStatement.statement_id == first)
    )
    assert db.session.scalar(sa.select(Event.client_id)) == second
    assert uuid.UUID(first)


def test_concurrent_batches_sharing_ids_store_each_statement_once(app, xapi):  # noqa: F811
    """Two large batches with 50 ids in common, sent at once: whichever COPY meets the other's rows waits,
    then takes the staged way; both answer 200 and every statement and event is stored once."""
    shared = [with_id(statement(f"s{n}")) for n in range(50)]
    batches = [shared + [with_id(statement(f"{side}{n}")) for n in range(50)] for side in "ab"]
    start, answers = threading.Barrier(2), []

    def send(batch: list[dict]) -> None:
        client = app.test_client()
        start.wait()
        answers.append(client.post("/xapi/statements", json=batch, headers=xapi).status_code)

    threads = [threading.Thread(target=send, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers == [200, 200]
    assert count(XapiStatement) == 150 and count(Event) == 150
