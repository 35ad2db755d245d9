"""Dialect-aware INSERT ... ON CONFLICT, the same on SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from models import db


def dialect_insert(model: Any) -> Any:
    """An INSERT that supports on_conflict_do_nothing / on_conflict_do_update on this database."""
    table = getattr(model, "__table__", model)  # Core table: the ORM bulk path splits rows by their NULLs
    if db.engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_missing(model: Any, key: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows whose `key` does not exist yet; existing rows are left as they are (race-safe)."""
    if rows:
        db.session.execute(dialect_insert(model).on_conflict_do_nothing(index_elements=[key]), rows)


def upsert_rows(model: Any, keys: list[str], rows: list[dict[str, Any]], update: list[str]) -> None:
    """Insert rows, or update the `update` columns of the row with the same keys."""
    if not rows:
        return
    stmt = dialect_insert(model)
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_={c: getattr(stmt.excluded, c) for c in update})
    db.session.execute(stmt, rows)


def ids_by_external_id(model: Any, external_ids: set[str]) -> dict[str, int]:
    """Map external ids to primary keys in one query per 1,000 ids."""
    found: dict[str, int] = {}
    wanted = sorted(external_ids)
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start:start + 1000]
        rows = db.session.execute(sa.select(model.external_id, model.id).where(model.external_id.in_(chunk)))
        found.update({external_id: pk for external_id, pk in rows})
    return found
