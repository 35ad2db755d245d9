"""Group commit of concurrent single events: one transaction per group, and each request still gets
exactly the outcome it would have had alone (stored, duplicate, 409, 422), against the real database."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from api.errors import ApiError
from api.events.group_commit import IngestGroups
from api.events.ingest import IngestResult, public_views, validate_events
from models import Event, User, db
from tests.conftest import bearer, create_user

SKEW = timedelta(minutes=5)
AT = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()  # one time for all: a re-sent event is the same


def event(client_id: str, learner: str = "amy", **fields: Any) -> dict[str, Any]:
    return {"id": client_id, "learner": learner, "kind": "activity", "occurred_at": AT, **fields}


def store_together(
    app, raws: list[dict[str, Any]], before: Any = None
) -> tuple[list[IngestResult | ApiError], list[int]]:
    """Store raws[0] alone, and raws[1:] as one group: the first leader holds its announce until all
    the others are queued behind it. Returns each outcome and the size of each group announced.
    `before` runs in each request's context first."""
    groups = IngestGroups(limit=64)
    announced: list[int] = []
    outcomes: list[IngestResult | ApiError] = [None] * len(raws)  # type: ignore[list-item]

    def announce(result: IngestResult) -> None:
        announced.append(len(result.outcomes))
        if len(announced) == 1:  # the first group (the first event alone) waits for the rest to queue
            deadline = time.monotonic() + 10
            while len(groups._queue) < len(raws) - 1 and time.monotonic() < deadline:
                time.sleep(0.005)

    def send(index: int) -> None:
        with app.app_context():
            try:
                if before is not None:
                    before()  # e.g. a database read, as verifying a token does
                (clean,) = validate_events([raws[index]], None, SKEW)
                outcomes[index] = groups.store(clean, None, True, announce)
            except ApiError as exc:
                outcomes[index] = exc
            finally:
                db.session.remove()

    first = threading.Thread(target=send, args=(0,))
    first.start()
    while not groups._busy:
        time.sleep(0.001)
    others = [threading.Thread(target=send, args=(i,)) for i in range(1, len(raws))]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join(30)
    return outcomes, announced


def stored_client_ids() -> list[str]:
    return sorted(db.session.scalars(sa.select(Event.client_id)))


def test_queued_single_events_are_stored_in_one_group_each_with_its_own_result(app):
    for name in ("l0", "l1", "l2"):
        create_user(name, "learner")
    outcomes, announced = store_together(app, [event(f"e{i}", learner=f"l{i % 3}") for i in range(6)])
    assert announced == [1, 5]  # the first alone, the five that queued behind it together
    ids = [outcome.stored_ids for outcome in outcomes]
    assert all(len(pks) == 1 for pks in ids) and len({pks[0] for pks in ids}) == 6
    assert stored_client_ids() == [f"e{i}" for i in range(6)]
    stored = dict(db.session.execute(sa.select(Event.id, Event.client_id)).all())
    for i, outcome in enumerate(outcomes):  # each request is told about its own event
        assert stored[outcome.stored_ids[0]] == f"e{i}"
        assert [(public["id"], public["server_id"]) for _, public in public_views(outcome.stored)] == [
            (f"e{i}", outcome.stored_ids[0])
        ]
    learners = dict(db.session.execute(sa.select(User.external_id, User.id)).all())
    assert outcomes[4].learner_ids == {learners["l1"]}


def test_the_same_event_sent_concurrently_is_stored_once(app):
    outcomes, _ = store_together(app, [event("same")] * 5)
    assert sum(len(o.stored_ids) for o in outcomes) == 1
    assert sorted(o.duplicate_client_ids for o in outcomes) == [[], ["same"], ["same"], ["same"], ["same"]]
    assert stored_client_ids() == ["same"]


def test_a_failing_request_fails_alone_and_the_rest_of_its_group_is_stored(app):
    raws = [
        event("first"),
        event("ok-1"),
        event("reused", duration_seconds=1),
        event("bad-course", course="no-such-course"),
        event("reused", duration_seconds=2),  # same id, another body: a 409 for whichever comes second
        event("ok-2"),
    ]
    outcomes, announced = store_together(app, raws)
    assert announced[0] == 1 and 5 not in announced  # the group failed together, then went one by one
    statuses = [o.status if isinstance(o, ApiError) else 201 for o in outcomes]
    assert statuses == [201, 201, 201, 422, 409, 201]
    assert outcomes[3].details[0]["path"] == "course"
    assert stored_client_ids() == ["first", "ok-1", "ok-2", "reused"]


@pytest.mark.parametrize("limit", [1, 64])
def test_concurrent_http_requests_each_get_their_own_answer(make_app, limit):
    """Real requests from 8 threads, group commit off and on: the same answers either way."""
    app = make_app(INGEST_GROUP_LIMIT=limit)
    with app.app_context():
        headers = bearer(create_user("lms", "service"))
    barrier, answers = threading.Barrier(8), [None] * 16

    def client(n: int) -> None:
        barrier.wait()
        with app.test_client() as http:
            for k in (n, n + 8):
                body = event(f"h{k % 12}", learner=f"p{k % 4}")  # 4 of the 16 repeat an earlier id
                answers[k] = (lambda r: (r.status_code, r.json["stored"], r.json["duplicates"]))(
                    http.post("/api/v1/events", json=body, headers=headers)
                )

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(answers) == [(200, 0, 1)] * 4 + [(201, 1, 0)] * 12
    with app.app_context():
        assert stored_client_ids() == sorted(f"h{k}" for k in range(12))


def test_waiting_requests_hold_no_database_connection(make_app, migrated):
    """Six requests that each read the database before queueing, on a pool of two connections: the
    ones waiting give theirs back, so the leader of their group can still store it."""
    options = {"pool_size": 2, "max_overflow": 0, "pool_timeout": 5}
    if migrated.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30}
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS=options)
    with app.app_context():
        create_user("amy", "learner")
    raws = [event(f"r{i}") for i in range(6)]
    outcomes, announced = store_together(app, raws, before=lambda: db.session.scalar(sa.select(User.id)))
    assert [len(o.stored_ids) for o in outcomes] == [1] * 6 and announced == [1, 5]
