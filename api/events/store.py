"""Insert event rows fast: COPY through a staging table on PostgreSQL, multi-row INSERT otherwise.

Rows whose client id is already stored are skipped (ON CONFLICT DO NOTHING); the caller decides
whether each skipped row is a duplicate or a conflict.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from models import Event, db
from models.upsert import dialect_insert

COLUMNS = ("id", "client_id", "body_hash", "learner_id", "kind", "occurred_at", "received_at", "course_id",
           "module_id", "section_id", "subject_id", "exam_id", "skill", "score", "max_score", "duration_seconds",
           "marks", "date", "status")
STAGE = "events_incoming"
COPY_FROM_ROWS = 64  # below this, one small INSERT is fewer round trips than the COPY sequence


def _copy_postgres(rows: list[dict[str, Any]]) -> list[int | None]:
    """Pre-allocate ids from the sequence, COPY into a temp table, move over what does not conflict."""
    cursor = db.session.connection().connection.driver_connection.cursor()
    names = ", ".join(COLUMNS)
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} (LIKE events) ON COMMIT DELETE ROWS")
    cursor.execute("SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, %s)", (len(rows),))
    ids = sorted(pk for (pk,) in cursor.fetchall())
    with cursor.copy(f"COPY {STAGE} ({names}) FROM STDIN") as copy:
        for pk, row in zip(ids, rows):
            copy.write_row((pk, *(row[name] for name in COLUMNS[1:])))
    cursor.execute(f"INSERT INTO events ({names}) SELECT {names} FROM {STAGE} ORDER BY id "
                   f"ON CONFLICT (client_id) DO NOTHING RETURNING id")
    inserted = {pk for (pk,) in cursor.fetchall()}
    cursor.execute(f"DELETE FROM {STAGE}")
    return [pk if pk in inserted else None for pk in ids]


def _insert_returning(rows: list[dict[str, Any]]) -> list[int | None]:
    """Multi-row INSERT ... RETURNING; anonymous rows keep their order, named rows are matched by client id."""
    table = Event.__table__
    anonymous = [row for row in rows if row["client_id"] is None]
    named = [row for row in rows if row["client_id"] is not None]
    by_position: dict[int, int] = {}
    if anonymous:
        result = db.session.execute(sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), anonymous)
        by_position.update({id(row): pk for row, pk in zip(anonymous, result.scalars())})
    if named:
        stmt = dialect_insert(Event).on_conflict_do_nothing(index_elements=["client_id"]).returning(table.c.id, table.c.client_id)
        inserted = {client_id: pk for pk, client_id in db.session.execute(stmt, named)}
        by_position.update({id(row): inserted[row["client_id"]] for row in named if row["client_id"] in inserted})
    return [by_position.get(id(row)) for row in rows]


def insert_events(rows: list[dict[str, Any]]) -> list[int | None]:
    """Insert rows (dicts keyed by column, without `id`); returns each row's new id, or None if skipped."""
    if not rows:
        return []
    if db.engine.dialect.name == "postgresql" and len(rows) >= COPY_FROM_ROWS:
        return _copy_postgres(rows)
    return _insert_returning([{k: v for k, v in row.items() if k != "id"} for row in rows])
