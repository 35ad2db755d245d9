"""Store statements race-safely: a statement id is inserted once; a re-send of the same statement is
recognised, a different statement under a stored id is a conflict, and voiding rules are kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from models import XapiStatement, db
from models.queries import driver_cursor
from models.upsert import dialect_insert, select_where_in
from services.xapi.statements import Prepared


class StatementConflict(Exception):
    """A statement id already stored (or repeated in the batch) with a different statement."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("statement ids reused for different statements")
        self.problems = problems


class VoidingRefused(Exception):
    """A voiding statement targets a voiding statement (the specification forbids voiding those)."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("a voiding statement cannot be voided")
        self.problems = problems


@dataclass
class StoreResult:
    """Which prepared statements are new (in batch order), and which were already stored as they are."""

    new: list[Prepared] = field(default_factory=list)
    existing: list[Prepared] = field(default_factory=list)


def check_voiding(batch: list[Prepared], paths: list[str]) -> None:
    """Refuse voiding a statement that is itself a voiding statement, stored or in this batch."""
    targets = {p.voids for p in batch if p.voids}
    if not targets:
        return
    voiding = {p.statement_id for p in batch if p.voids} | _voiding_ids(targets)
    problems = [
        {
            "path": f"{path}.object.id",
            "reason": f"statement {p.voids} is itself a voiding statement: it cannot be voided",
        }
        for p, path in zip(batch, paths)
        if p.voids in voiding
    ]
    if problems:
        raise VoidingRefused(problems)


def _voiding_ids(ids: set[str]) -> set[str]:
    """Those of `ids` stored as voiding statements."""
    rows = select_where_in([XapiStatement.statement_id, XapiStatement.voids], XapiStatement.statement_id, ids)
    return {sid for sid, voids in rows if voids is not None}


COLUMNS = (
    "statement_id",
    "body",
    "body_hash",
    "stored",
    "actor_ifi",
    "object_ifi",
    "verb_id",
    "activity_id",
    "registration",
    "voids",
    "event_kind",
    "unmapped_reason",
)
STAGE = "xapi_statements_incoming"
COPY_FROM_ROWS = 64  # as for events: below this a multi-row INSERT costs less than the COPY sequence


def _stage(cursor: Any) -> None:
    """The staging table of the race-safe path: the statement columns without NOT NULL (so COPY leaves `id`
    out) and its own arrival order (borrowing xapi_statements' sequence would tie a temp table to it, and
    nobody could drop the schema while a server session held it)."""
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ON COMMIT DELETE ROWS AS "
        f"SELECT {', '.join(COLUMNS)} FROM xapi_statements WITH NO DATA"
    )
    cursor.execute(f"ALTER TABLE {STAGE} ADD COLUMN IF NOT EXISTS arrival bigint GENERATED ALWAYS AS IDENTITY")


def _copy_staged(cursor: Any, rows: list[tuple[Any, ...]]) -> set[str]:
    """COPY into the staging table, then one INSERT ... SELECT ... ON CONFLICT DO NOTHING: safe against a
    concurrent batch storing the same ids; returns the ids it inserted."""
    names = ", ".join(COLUMNS)
    _stage(cursor)
    with cursor.copy(f"COPY {STAGE} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(
        f"INSERT INTO xapi_statements ({names}) SELECT {names} FROM {STAGE} ORDER BY arrival "
        "ON CONFLICT (statement_id) DO NOTHING RETURNING statement_id"
    )
    inserted = {sid for (sid,) in cursor.fetchall()}
    cursor.execute(f"DELETE FROM {STAGE}")
    return inserted


def _copy_postgres(rows: list[tuple[Any, ...]]) -> set[str]:
    """COPY straight into xapi_statements (a 1,000-row multi-row INSERT spends most of its time having
    psycopg split and convert the statement text; a staging table and INSERT ... SELECT ... ON CONFLICT cost
    PostgreSQL a second write and read of every row). When an id is already stored (a re-sent batch, or a
    concurrent batch storing the same ids), the COPY fails on the unique index and the batch goes the staged
    way instead, inside a savepoint so the rest of the transaction stands."""
    cursor = driver_cursor()
    cursor.execute("SAVEPOINT xapi_copy")
    try:
        with cursor.copy(f"COPY xapi_statements ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.errors.UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT xapi_copy")
        return _copy_staged(cursor, rows)
    cursor.execute("RELEASE SAVEPOINT xapi_copy")
    return {row[0] for row in rows}


def _insert(rows: list[tuple[Any, ...]]) -> set[str]:
    """The statement ids actually inserted (the others were already stored)."""
    if not rows:
        return set()
    if db.engine.dialect.name == "postgresql" and len(rows) >= COPY_FROM_ROWS:
        return _copy_postgres(rows)
    table = XapiStatement.__table__
    stmt = dialect_insert(XapiStatement).on_conflict_do_nothing(index_elements=["statement_id"])
    params = [dict(zip(COLUMNS, row, strict=True)) for row in rows]
    return {sid for (sid,) in db.session.execute(stmt.returning(table.c.statement_id), params)}


def _stored_hashes(ids: set[str]) -> dict[str, str]:
    """The body hash of each of `ids` already stored."""
    if not ids:
        return {}
    columns = [XapiStatement.statement_id, XapiStatement.body_hash]
    return dict(select_where_in(columns, XapiStatement.statement_id, ids))


def insert_statements(batch: list[Prepared], rows: list[tuple[Any, ...]], paths: list[str]) -> StoreResult:
    """Insert the rows (ON CONFLICT DO NOTHING on statement_id); skipped ids must hold the same statement."""
    inserted = _insert(rows)
    skipped = [(p, path) for p, path in zip(batch, paths) if p.statement_id not in inserted]
    _refuse_changed(skipped, _stored_hashes({p.statement_id for p, _ in skipped}))
    return StoreResult(new=[p for p in batch if p.statement_id in inserted], existing=[p for p, _ in skipped])


def _refuse_changed(stored: list[tuple[Prepared, str]], hashes: dict[str, str]) -> None:
    """StatementConflict naming each statement whose id is stored with another body."""
    changed = [
        {"path": f"{path}.id", "reason": f"statement {p.statement_id} is already stored with different content"}
        for p, path in stored
        if hashes.get(p.statement_id) != p.body_hash
    ]
    if changed:
        raise StatementConflict(changed)
