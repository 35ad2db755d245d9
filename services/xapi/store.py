"""Store statements race-safely: a statement id is inserted once; a re-send of the same statement is
recognised, a different statement under a stored id is a conflict, and voiding rules are kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


def _copy_postgres(rows: list[dict[str, Any]]) -> set[str]:
    """COPY into a temp staging table, then one INSERT ... SELECT: a 1,000-row multi-row INSERT spends most
    of its time having psycopg split and convert the huge statement text."""
    cursor, names = driver_cursor(), ", ".join(COLUMNS)
    cursor.execute(  # its own order column: borrowing xapi_statements' id default would tie the temp table to
        # that table's sequence, and nobody could drop the schema while a server session holds the table
        f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} (LIKE xapi_statements EXCLUDING ALL, "
        "arrival bigint GENERATED ALWAYS AS IDENTITY) ON COMMIT DELETE ROWS"
    )
    cursor.execute(f"ALTER TABLE {STAGE} ALTER COLUMN id DROP NOT NULL")
    with cursor.copy(f"COPY {STAGE} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(tuple(row[name] for name in COLUMNS))
    cursor.execute(
        f"INSERT INTO xapi_statements ({names}) SELECT {names} FROM {STAGE} ORDER BY arrival "
        "ON CONFLICT (statement_id) DO NOTHING RETURNING statement_id"
    )
    inserted = {sid for (sid,) in cursor.fetchall()}
    cursor.execute(f"DELETE FROM {STAGE}")
    return inserted


def _insert(rows: list[dict[str, Any]]) -> set[str]:
    """The statement ids actually inserted (the others were already stored)."""
    if db.engine.dialect.name == "postgresql" and len(rows) >= COPY_FROM_ROWS:
        return _copy_postgres(rows)
    table = XapiStatement.__table__
    stmt = dialect_insert(XapiStatement).on_conflict_do_nothing(index_elements=["statement_id"])
    return {sid for (sid,) in db.session.execute(stmt.returning(table.c.statement_id), rows)}


def insert_statements(batch: list[Prepared], rows: list[dict[str, Any]], paths: list[str]) -> StoreResult:
    """Insert the rows (ON CONFLICT DO NOTHING on statement_id); skipped ids must hold the same statement."""
    inserted = _insert(rows)
    result = StoreResult()
    skipped = [(p, path) for p, path in zip(batch, paths) if p.statement_id not in inserted]
    if skipped:
        hashes = dict(
            select_where_in(
                [XapiStatement.statement_id, XapiStatement.body_hash],
                XapiStatement.statement_id,
                {p.statement_id for p, _ in skipped},
            )
        )
        changed = [
            {"path": f"{path}.id", "reason": f"statement {p.statement_id} is already stored with different content"}
            for p, path in skipped
            if hashes.get(p.statement_id) != p.body_hash
        ]
        if changed:
            raise StatementConflict(changed)
    result.new = [p for p in batch if p.statement_id in inserted]
    result.existing = [p for p, _ in skipped]
    return result
