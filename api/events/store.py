"""Insert event rows fast: binary COPY on PostgreSQL, multi-row INSERT otherwise.

Rows whose client id is already stored are skipped (ON CONFLICT DO NOTHING); the caller decides
whether each skipped row is a duplicate or a conflict.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from psycopg.errors import UniqueViolation
from sqlalchemy.dialects import postgresql

from models import EVENT_REFERENCE_FIELDS, EVENT_VALUE_FIELDS, Event, db
from models.events import CLIENT_KEY, CLIENT_KEY_INDEX
from models.queries import driver_cursor
from models.upsert import dialect_insert, select_where_in

COLUMNS = (
    "id",
    "client_id",
    "body_hash",
    "learner_id",
    "kind",
    "occurred_at",
    "received_at",
    *(f"{name}_id" for name in EVENT_REFERENCE_FIELDS),
    *EVENT_VALUE_FIELDS,
)
ROW_COLUMNS = COLUMNS[1:]  # a row: a tuple of these columns' values (the id is allocated here)
# The columns' PostgreSQL types, for binary COPY: psycopg then sends each value as the column's binary
# form, instead of formatting it as text for PostgreSQL to parse again (a sixth of a batch's web CPU).
COPY_TYPES = (
    "int8",
    "varchar",
    "varchar",
    "int4",
    "varchar",
    "timestamptz",
    "timestamptz",
    *("int4" for _ in EVENT_REFERENCE_FIELDS),
    "varchar",  # skill
    "float8",  # score
    "float8",  # max_score
    "float8",  # duration_seconds
    "float8",  # marks
    "date",
    "varchar",  # status
)
STAGE = "events_incoming"
COPY_FROM_ROWS = 64  # below this, one multi-row INSERT costs less than the COPY sequence
# The sequence as a literal: the planner resolves it once. `nextval(pg_get_serial_sequence(...))` looked it
# up again for every row (4-8 ms of PostgreSQL CPU per 1,000 ids instead of 0.4-0.7 ms).
ID_SEQUENCE = "events_id_seq"
ON_CONFLICT = f"ON CONFLICT ({CLIENT_KEY}) DO NOTHING"  # a stored client id: the row is skipped (PostgreSQL)


def _allocate_ids(cursor: Any, count: int) -> list[int]:
    cursor.execute(f"SELECT nextval('{ID_SEQUENCE}') FROM generate_series(1, %s)", (count,))
    return sorted(pk for (pk,) in cursor.fetchall())


def _insert_postgres(rows: list[tuple[Any, ...]]) -> list[int | None]:
    """Plain SQL through psycopg: SQLAlchemy cannot cache ON CONFLICT inserts, psycopg caches this text.

    One row: a single INSERT ... RETURNING. More: ids are taken from the sequence first, so the
    result maps back to rows whatever order RETURNING uses; large batches are COPYed straight into
    events, or, when a client id is already stored, into a temp staging table and moved over in one
    INSERT ... SELECT ... ON CONFLICT.
    """
    cursor = driver_cursor()
    on_conflict = f"{ON_CONFLICT} RETURNING id"
    if len(rows) == 1:
        names = ", ".join(ROW_COLUMNS)
        cursor.execute(
            f"INSERT INTO events ({names}) VALUES ({', '.join(['%s'] * len(ROW_COLUMNS))}) {on_conflict}", rows[0]
        )
        found = cursor.fetchone()
        return [found[0] if found else None]
    ids, names = _allocate_ids(cursor, len(rows)), ", ".join(COLUMNS)
    if len(rows) < COPY_FROM_ROWS:
        values = ", ".join([f"({', '.join(['%s'] * len(COLUMNS))})"] * len(rows))
        params = [value for pk, row in zip(ids, rows) for value in (pk, *row)]
        cursor.execute(f"INSERT INTO events ({names}) VALUES {values} {on_conflict}", params)
    elif _copy_straight_in(cursor, ids, rows):
        return list(ids)
    else:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} (LIKE events) ON COMMIT DELETE ROWS")
        _copy_rows(cursor, STAGE, ids, rows)
        cursor.execute(f"INSERT INTO events ({names}) SELECT {names} FROM {STAGE} ORDER BY id {on_conflict}")
    inserted = {pk for (pk,) in cursor.fetchall()}
    if len(rows) >= COPY_FROM_ROWS:
        cursor.execute(f"DELETE FROM {STAGE}")
    return [pk if pk in inserted else None for pk in ids]


def _copy_rows(cursor: Any, table: str, ids: list[int], rows: list[tuple[Any, ...]]) -> None:
    """Binary COPY of the rows, each with its allocated id, into `table`."""
    with cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(COPY_TYPES)
        write = copy.write_row
        for pk, row in zip(ids, rows):
            write((pk, *row))


def _copy_straight_in(cursor: Any, ids: list[int], rows: list[tuple[Any, ...]]) -> bool:
    """COPY the rows into events itself, under a savepoint; False, with nothing stored, when a client id is
    already stored or repeated in the batch (then the staging table's ON CONFLICT sorts them out). A batch of
    new events, the usual case, so skips the staging table and ON CONFLICT's speculative insertion: 2-3 ms of
    PostgreSQL CPU per 1,000 rows."""
    cursor.execute("SAVEPOINT events_copy")
    try:
        _copy_rows(cursor, "events", ids, rows)
    except UniqueViolation as error:
        if error.diag.constraint_name != CLIENT_KEY_INDEX:
            raise
        cursor.execute("ROLLBACK TO SAVEPOINT events_copy")
        return False
    cursor.execute("RELEASE SAVEPOINT events_copy")
    return True


def _insert_returning(values: list[tuple[Any, ...]]) -> list[int | None]:
    """Multi-row INSERT ... RETURNING; anonymous rows keep their order, named rows are matched by client id."""
    table = Event.__table__
    rows = [dict(zip(ROW_COLUMNS, row)) for row in values]
    anonymous = [row for row in rows if row["client_id"] is None]
    named = [row for row in rows if row["client_id"] is not None]
    by_position: dict[int, int] = {}
    if anonymous:
        result = db.session.execute(sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), anonymous)
        by_position.update({id(row): pk for row, pk in zip(anonymous, result.scalars())})
    if named:
        stmt = (
            dialect_insert(Event)
            .on_conflict_do_nothing(index_elements=["client_id"])
            .returning(table.c.id, table.c.client_id)
        )
        inserted = {client_id: pk for pk, client_id in db.session.execute(stmt, named)}
        by_position.update({id(row): inserted[row["client_id"]] for row in named if row["client_id"] in inserted})
    return [by_position.get(id(row)) for row in rows]


# The stored rows whose client id has the digest of one of :ids. Through the index the digest keys (the id itself
# is not indexed on PostgreSQL); the caller keeps the rows whose id is one asked for.
CLIENT_IDS_BY_DIGEST = sa.text(
    f"SELECT client_id, body_hash FROM events WHERE {CLIENT_KEY} IN (SELECT md5(id)::uuid FROM unnest(:ids) id)"
).bindparams(sa.bindparam("ids", type_=postgresql.ARRAY(sa.Text)))


def stored_body_hashes(client_ids: set[str]) -> dict[str, str]:
    """The body hash stored under each of these client ids that is stored: a skipped row's duplicate or conflict."""
    if db.engine.dialect.name != "postgresql":
        return dict(select_where_in([Event.client_id, Event.body_hash], Event.client_id, client_ids))
    rows = db.session.execute(CLIENT_IDS_BY_DIGEST, {"ids": sorted(client_ids)})
    return {client_id: body_hash for client_id, body_hash in rows if client_id in client_ids}


def insert_events(rows: list[tuple[Any, ...]]) -> list[int | None]:
    """Insert rows (tuples of the ROW_COLUMNS' values); returns each row's new id, or None if skipped."""
    if not rows:
        return []
    if db.engine.dialect.name == "postgresql":
        return _insert_postgres(rows)
    return _insert_returning(rows)
