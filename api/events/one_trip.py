"""Single events stored in one PostgreSQL round trip: each learner and reference resolved inside its INSERT.

The general path (api/events/ingest.py) looks the learners up, inserts, and commits: with BEGIN, four
round trips per group of single events, each costing the web process a poll, a greenlet switch and a
result to parse. For the kinds that write nothing but the event row (activity, heartbeats, module
completions), one INSERT ... SELECT does it all: the learner must exist with the learner role and every
reference named must exist (a module in the course named, if both are), else the row is simply not
inserted. Consecutive events of a group that name the same references are one statement, one SELECT per
event joined by UNION ALL (prepared by psycopg like any statement; PostgreSQL plans it generically, unique
index look-ups whatever the values), so a group is usually one statement in autocommit, its own
transaction, sent in one write. Groups of several such runs send theirs in one pipeline, one implicit
transaction ended by its Sync. (One statement over the group's fields as arrays was tried: PostgreSQL
re-planned it on every run, ~1 ms, and it cost the web process more than prepared statements.)

Each stored row comes back with its client id and body hash, which name the event it was made of: an id
repeated within the group is stored for its first event only (the later one conflicts, as it would in a
statement of its own), and identical anonymous events are interchangeable, their rows taken in the order
PostgreSQL inserted them (the UNION ALL's, the group's).

An event this lane did not store is left to the general path, which then gives exactly its usual
answer: an unknown learner is created (or refused), an unknown reference is a 422, an id already
stored is a duplicate or a 409. So the lane only ever stores what the general path would have stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

from psycopg.pq import TransactionStatus

from api.events.store import ON_CONFLICT
from models import db

KINDS = frozenset({"activity", "heartbeat", "module_completed"})  # an event row and nothing else
REFERENCES = ("course", "module", "section", "subject")  # what those kinds may name, in column order
TABLES = {"course": "courses", "module": "modules", "section": "sections", "subject": "subjects"}
Stored = tuple[int, int]  # (event id, learner id)


def eligible(event: dict[str, Any]) -> bool:
    """True when storing this validated event takes nothing but its own row."""
    return event["kind"] in KINDS


# The learner by its unique external id only: OFFSET 0 keeps the planner from merging the role test in, which
# it answered from the role index when a young users table had no statistics yet (a scan of every learner).
_LEARNER = "SELECT id, role FROM users WHERE external_id = %s OFFSET 0"
_COLUMNS = "client_id, body_hash, learner_id, kind, occurred_at, received_at, duration_seconds"


@cache
def _select(named: tuple[str, ...]) -> str:
    """The SELECT of one event's row, for events naming these references (its parameters: _parameters)."""
    joins = "".join(f" JOIN {TABLES[name]} {name} ON {name}.external_id = %s" for name in named)
    ids = {name: f"{name}.id" for name in named}
    if "module" in named:
        ids["course"] = "module.course_id"  # a module's event counts for its course, named or not
    condition = " AND module.course_id = course.id" if {"module", "course"} <= set(named) else ""
    values = ", ".join(ids.get(name, "NULL::bigint") for name in REFERENCES)
    return (
        "SELECT %s::varchar, %s::varchar, learner.id, %s::varchar, %s::timestamptz, %s::timestamptz, %s::float8, "
        f"{values} FROM ({_LEARNER}) learner{joins} WHERE learner.role = 'learner'{condition}"
    )


@lru_cache(maxsize=1024)
def _statement(named: tuple[str, ...], count: int) -> str:
    """The INSERT of `count` events naming these references (at most 16 x INGEST_GROUP_LIMIT texts)."""
    columns = ", ".join(f"{name}_id" for name in REFERENCES)
    return (
        f"INSERT INTO events ({_COLUMNS}, {columns}) {' UNION ALL '.join([_select(named)] * count)} "
        f"{ON_CONFLICT} RETURNING id, learner_id, client_id, body_hash"
    )


def _named(event: dict[str, Any]) -> tuple[str, ...]:
    return tuple(name for name in REFERENCES if name in event)


def _parameters(event: dict[str, Any], named: tuple[str, ...], received_at: datetime) -> list[Any]:
    get = event.get
    return [
        get("id"),
        event["hash"],
        event["kind"],
        event["occurred_at"],
        received_at,
        get("duration_seconds"),
        event["learner"],
        *(event[name] for name in named),
    ]


def _runs(events: list[dict[str, Any]]) -> list[tuple[tuple[str, ...], list[dict[str, Any]]]]:
    """The group as runs of consecutive events naming the same references: one statement each, in order."""
    runs: list[tuple[tuple[str, ...], list[dict[str, Any]]]] = []
    for event in events:
        named = _named(event)
        if runs and runs[-1][0] == named:
            runs[-1][1].append(event)
        else:
            runs.append((named, [event]))
    return runs


def store_in_one_trip(events: list[dict[str, Any]]) -> list[Stored | None]:
    """Insert eligible events in one transaction and one round trip; per event its (id, learner id), or None
    where the general path must decide. Raises what the database raises, with the transaction rolled back."""
    received_at = datetime.now(UTC)
    runs = _runs(events)
    with _pooled_connection() as connection, _implicit_transaction(connection) as implicit:
        if implicit and len(runs) == 1:  # one statement is its own transaction: no pipeline needed
            cursors = [_execute(connection.cursor(), *runs[0], received_at)]
        else:
            with connection.pipeline():
                cursors = [_execute(connection.cursor(), *run, received_at) for run in runs]
                if not implicit:
                    connection.commit()
        rows = [row for cursor in cursors for row in cursor.fetchall()]
    return _match(events, rows)


@contextmanager
def _pooled_connection() -> Iterator[Any]:
    """A psycopg connection of the engine's pool, given back after use (the pool rolls back a transaction left
    open). Not the session's: a request of this lane then makes no session at all, whose creation, checkout,
    commit and close cost the web process more Python than the insert itself."""
    pooled = db.engine.raw_connection()
    connection = pooled.driver_connection
    try:
        yield connection
    except BaseException as error:
        if connection.closed or connection.broken:  # what SQLAlchemy does on a disconnect (the session's rollback
            db.engine.pool._invalidate(pooled, error)  # did it here): every older pooled connection is replaced
        raise
    finally:
        pooled.close()


def _execute(cursor: Any, named: tuple[str, ...], run: list[dict[str, Any]], received_at: datetime) -> Any:
    """Run (or, in a pipeline, queue) the INSERT of a run of events on `cursor`; returns the cursor."""
    parameters = [value for event in run for value in _parameters(event, named, received_at)]
    cursor.execute(_statement(named, len(run)), parameters)
    return cursor


def _match(events: list[dict[str, Any]], rows: list[tuple[Any, ...]]) -> list[Stored | None]:
    """Each event's stored (id, learner id), found by its client id and body hash; None if it made no row."""
    made: dict[tuple[Any, str], list[Stored]] = {}
    for pk, learner, client_id, digest in rows:
        made.setdefault((client_id, digest), []).append((pk, learner))
    found: list[Stored | None] = []
    for event in events:
        same = made.get((event.get("id"), event["hash"]))
        found.append(same.pop(0) if same else None)
    return found


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
