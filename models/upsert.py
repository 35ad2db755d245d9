"""Dialect-aware INSERT ... ON CONFLICT, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from models import User, db
from models.queries import driver_cursor


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


def chunks_in(column: Any, values: Any) -> list[Any]:
    """`column IN values` conditions: one array parameter on PostgreSQL (a long IN list costs more to
    parse than to run), chunks of 1,000 on SQLite (its limit on bound parameters)."""
    values = sorted(set(values))
    if not values:
        return []
    if db.engine.dialect.name == "postgresql":
        return [column == sa.any_(sa.bindparam(None, values, type_=postgresql.ARRAY(column.type)))]
    return [column.in_(values[start : start + 1000]) for start in range(0, len(values), 1000)]


def rows_of_ids(query: Any, column: Any, ids: Any) -> list[Any]:
    """The rows of `query` (its first column is `column`) whose `column` is one of `ids`. A sweep shard's dense
    id range is read as one index range, its other ids' rows dropped here; a few scattered ids as arrays
    (chunks_in). Never `IN` with one literal per id: compiling and parsing 5,000 of them cost a shard more than
    its query."""
    wanted = sorted(set(ids))
    if len(wanted) >= 500 and wanted[-1] - wanted[0] < 2 * len(wanted):
        keep = set(wanted)
        return [row for row in db.session.execute(query.where(column.between(wanted[0], wanted[-1]))) if row[0] in keep]
    return [row for condition in chunks_in(column, wanted) for row in db.session.execute(query.where(condition))]


def keys_in(column: Any, values: Any) -> list[Any]:
    """Key look-up conditions: `column IN (SELECT unnest(values))` on PostgreSQL. psycopg prepares a
    statement run 5 times, and PostgreSQL's generic plan for `column = ANY($1::VARCHAR(128)[])` casts the
    whole array again for every row it scans and cannot hash it: 200-300 ms for 1,000 external ids
    against 2,000 users, instead of 3 ms. The unnest form plans as a join whichever plan is used."""
    if db.engine.dialect.name != "postgresql":
        return chunks_in(column, values)
    values = sorted(set(values))
    if not values:
        return []
    array = sa.bindparam(None, values, type_=postgresql.ARRAY(column.type))
    return [column.in_(sa.select(sa.func.unnest(array)).scalar_subquery())]


def select_where_in(columns: list[Any], column: Any, values: Any) -> list[Any]:
    """All rows of `columns` whose `column` is in `values`."""
    return [
        row for condition in keys_in(column, values) for row in db.session.execute(sa.select(*columns).where(condition))
    ]


def ids_by_external_id(model: Any, external_ids: Any) -> dict[str, int]:
    """Map external ids to primary keys."""
    return dict(select_where_in([model.external_id, model.id], model.external_id, external_ids))


Users = dict[str, tuple[int, str]]  # external id -> (id, role)
USER_COLUMNS = (User.external_id, User.id, User.role)  # a Users entry's key and value, as selected


def text_array(values: list[str]) -> str:
    """The text[] literal of these strings: every one quoted, `"` and `\\` escaped. psycopg's list dumper
    spent ~0.6 ms of a 1,000-event batch's web CPU on its 1,000 learner names, in Python per item."""
    return '{"' + '","'.join([value.replace("\\", "\\\\").replace('"', '\\"') for value in values]) + '"}'


def int_array(values: list[int]) -> str:
    """The int[] literal of these integers, beside text_array: psycopg's list dumper wrote the arrays of a
    1,000-event batch's 250 assessments in Python per item (~0.7 ms of web CPU, services.mastery)."""
    return "{" + ",".join(map(int.__repr__, values)) + "}"


# keys_in's form, as plain SQL: psycopg prepares it after a few runs, and a single event skips the ORM's
# statement compilation and result machinery (about a tenth of the web CPU of a grouped single event).
_USERS_SQL = "SELECT external_id, id, role FROM users WHERE external_id IN (SELECT unnest(%s::text[]))"


def users_by_external_id(external_ids: Any) -> Users:
    """Id and role of the users with these external ids, in one look-up (a batch checks each is a learner)."""
    if db.engine.dialect.name == "postgresql":
        names = sorted(set(external_ids))
        if not names:
            return {}
        cursor = driver_cursor()
        cursor.execute(_USERS_SQL, (text_array(names),))
        return {ext: (pk, role) for ext, pk, role in cursor.fetchall()}
    return {ext: (pk, role) for ext, pk, role in select_where_in(list(USER_COLUMNS), User.external_id, external_ids)}


def write_columns(
    model: Any,
    columns: dict[str, list[Any]],
    constants: dict[str, Any],
    keys: list[str] | None = None,
    update: list[str] | None = None,
) -> None:
    """Insert rows given column-wise (lists of equal length) plus columns with one value for every row; with
    `keys`, upsert (`update`: the columns an existing row takes). PostgreSQL: ONE statement whose rows come
    from unnest() of one array parameter per column, so neither the client nor the server handles a
    parameter per value (writing 10k standings rows: 0.1 s of client CPU instead of 0.5 s). JSON columns
    take Python values, serialized as SQLAlchemy's JSON type does (json.dumps)."""
    table = getattr(model, "__table__", model)
    names = list(columns)
    if not names or not columns[names[0]]:
        return
    if db.engine.dialect.name != "postgresql":
        rows = [dict(zip(names, values)) | constants for values in zip(*columns.values())]
        if keys is None:
            db.session.execute(sa.insert(table), rows)
        else:
            upsert_rows(table, keys, rows, update or [])
        return
    dialect = postgresql.dialect()
    params: dict[str, Any] = {}
    arrays, selected = [], []
    for i, name in enumerate(names):
        kind = table.c[name].type
        values = columns[name]
        if isinstance(kind, sa.JSON):
            values, array_type = [json.dumps(v) for v in values], "JSON[]"
        else:
            array_type = f"{kind.compile(dialect=dialect)}[]"
        params[f"c{i}"] = values
        arrays.append(f"%(c{i})b::{array_type}")  # binary: no per-element quoting (JSON text: 10x less CPU)
        selected.append(f"u.c{i}")
    for i, (name, value) in enumerate(constants.items()):
        params[f"k{i}"] = value
        selected.append(f"%(k{i})s::{table.c[name].type.compile(dialect=dialect)}")
    aliases = ", ".join(f"c{i}" for i in range(len(names)))
    sql = (
        f"INSERT INTO {table.name} ({', '.join([*names, *constants])}) "
        f"SELECT {', '.join(selected)} FROM unnest({', '.join(arrays)}) AS u({aliases})"
    )
    if keys is not None:
        sets = ", ".join(f"{c} = excluded.{c}" for c in update or [])
        sql += f" ON CONFLICT ({', '.join(keys)}) DO " + (f"UPDATE SET {sets}" if sets else "NOTHING")
    driver_cursor().execute(sql, params)
