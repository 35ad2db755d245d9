"""Single events stored in one PostgreSQL round trip: each learner and reference resolved inside its INSERT.

The general path (api/events/ingest.py) looks the learners up, inserts, and commits: with BEGIN, four
round trips per group of single events, each costing the web process a poll, a greenlet switch and a
result to parse. For the kinds that write nothing but the event row (activity, heartbeats, module
completions), one INSERT ... SELECT per event does it all: the learner must exist with the learner role
and every reference named must exist (a module in the course named, if both are), else the row is
simply not inserted. The group's INSERTs go out in one pipeline, one implicit transaction ended by its
Sync; a group of one is one statement in autocommit, sent in one write (the pipeline sent the INSERT, its
Sync and a Flush in three, with a wait before each). (One statement over the group's fields as arrays was
tried: PostgreSQL re-planned it on every run, ~1 ms, and it cost the web process more than these prepared
single-row statements.)

An event this lane did not store is left to the general path, which then gives exactly its usual
answer: an unknown learner is created (or refused), an unknown reference is a 422, an id already
stored is a duplicate or a 409. So the lane only ever stores what the general path would have stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any

from psycopg.pq import TransactionStatus

from models import db
from models.queries import driver_connection

KINDS = frozenset({"activity", "heartbeat", "module_completed"})  # an event row and nothing else
REFERENCES = ("course", "module", "section", "subject")  # what those kinds may name, in column order
TABLES = {"course": "courses", "module": "modules", "section": "sections", "subject": "subjects"}
Stored = tuple[int, int]  # (event id, learner id)


def eligible(event: dict[str, Any]) -> bool:
    """True when storing this validated event takes nothing but its own row."""
    return event["kind"] in KINDS


# The learner by its unique external id only: OFFSET 0 keeps the planner from merging the role test in, which
# it answered from the role index when a young users table had no statistics yet (a scan of every learner).
_LEARNER = "SELECT id, role FROM users WHERE external_id = %(learner)s OFFSET 0"


@cache
def _statement(named: tuple[str, ...]) -> str:
    """The INSERT for events naming these references (at most 16 texts, each prepared by psycopg)."""
    joins = "".join(f" JOIN {TABLES[name]} {name} ON {name}.external_id = %({name})s" for name in named)
    ids = {name: f"{name}.id" for name in named}
    if "module" in named:
        ids["course"] = "module.course_id"  # a module's event counts for its course, named or not
    condition = " AND module.course_id = course.id" if {"module", "course"} <= set(named) else ""
    columns = ", ".join(f"{name}_id" for name in REFERENCES)
    values = ", ".join(ids.get(name, "NULL::bigint") for name in REFERENCES)
    return (
        "INSERT INTO events (client_id, body_hash, learner_id, kind, occurred_at, received_at, duration_seconds, "
        f"{columns}) SELECT %(id)s::varchar, %(hash)s::varchar, learner.id, %(kind)s::varchar, "
        f"%(occurred_at)s::timestamptz, %(received_at)s::timestamptz, %(duration_seconds)s::float8, {values} "
        f"FROM ({_LEARNER}) learner{joins} WHERE learner.role = 'learner'{condition} "
        "ON CONFLICT (client_id) DO NOTHING RETURNING id, learner_id"
    )


def _parameters(event: dict[str, Any], received_at: datetime) -> dict[str, Any]:
    get = event.get
    return {
        "id": get("id"),
        "hash": event["hash"],
        "kind": event["kind"],
        "occurred_at": event["occurred_at"],
        "received_at": received_at,
        "duration_seconds": get("duration_seconds"),
        "learner": event["learner"],
        **{name: event[name] for name in REFERENCES if name in event},
    }


def store_in_one_trip(events: list[dict[str, Any]]) -> list[Stored | None]:
    """Insert eligible events in one transaction and one round trip; per event its (id, learner id), or None
    where the general path must decide. Raises what the database raises, with the transaction rolled back."""
    received_at = datetime.now(UTC)
    connection = driver_connection()
    try:
        with _implicit_transaction(connection) as implicit:
            if implicit and len(events) == 1:  # one statement is its own transaction: no pipeline needed
                found = [_execute(connection.cursor(), events[0], received_at).fetchone()]
            else:
                with connection.pipeline():
                    cursors = [_execute(connection.cursor(), event, received_at) for event in events]
                    if not implicit:
                        connection.commit()
                found = [cursor.fetchone() for cursor in cursors]
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()  # psycopg has committed: this only ends the session's side of the transaction
    return [(row[0], row[1]) if row else None for row in found]


def _execute(cursor: Any, event: dict[str, Any], received_at: datetime) -> Any:
    """Run (or, in a pipeline, queue) the INSERT of one event on `cursor`; returns the cursor."""
    cursor.execute(_statement(tuple(name for name in REFERENCES if name in event)), _parameters(event, received_at))
    return cursor


@contextmanager
def _implicit_transaction(connection: Any) -> Iterator[bool]:
    """The statements run inside as the implicit transaction of their one Sync, which commits (or rolls back, on
    any error) all of them: no BEGIN and COMMIT, each of which psycopg sends with a Sync of its own and waits for
    (three round trips where one does). A lone statement outside a pipeline is such a transaction by itself.
    Only from a connection with no transaction open (else the statements join the open one: yields False)."""
    if connection.info.transaction_status != TransactionStatus.IDLE:
        yield False
        return
    connection.autocommit = True
    try:
        yield True
    finally:
        connection.autocommit = False


def available() -> bool:
    """The lane needs PostgreSQL (INSERT ... SELECT ... ON CONFLICT with psycopg's pipeline)."""
    return db.engine.dialect.name == "postgresql"
