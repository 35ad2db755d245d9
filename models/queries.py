"""Small query helpers every layer uses: a two-column select as a dict, the raw driver connection and cursor, and a
statement compiled once for that cursor."""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa

from models.base import db


def mapping(statement: sa.Select[Any]) -> dict[Any, Any]:
    """The rows of a two-column select as {first: second} (ids to external ids, and the like)."""
    return {key: value for key, value in db.session.execute(statement).tuples()}


def core_execute(statement: sa.Executable, params: dict[str, Any] | None = None) -> sa.CursorResult[Any]:
    """Run a statement of plain columns (no ORM entity) on the session's connection: the same rows as
    `db.session.execute`, without the ORM's compile state, autoflush and row loading (~0.1-0.3 ms of a
    socket open's CPU per statement). Only for reads that need no flush of pending objects."""
    return db.session.connection().execute(statement, params or {})


# In a Connection's info: its transaction ran something other than a plain SELECT (through SQLAlchemy or the
# driver's own cursor), so only PostgreSQL can say whether it wrote (api/read_commit.py). False from its begin.
MAY_HAVE_WRITTEN = "learnpulse_may_have_written"


def driver_connection() -> Any:
    """The psycopg connection under the session's, for pipelines on PostgreSQL. What runs on it is not seen by
    SQLAlchemy, so the transaction counts as one that may have written."""
    return _driver_connection(may_write=True)


def _driver_connection(may_write: bool) -> Any:
    bound = db.session.connection()
    if may_write:
        bound.info[MAY_HAVE_WRITTEN] = True
    connection = bound.connection.driver_connection
    assert connection is not None, "the session has no open DBAPI connection"
    return connection


def driver_cursor() -> Any:
    """The psycopg cursor under the session's connection, for COPY and writes on PostgreSQL."""
    return driver_connection().cursor()


def driver_read_cursor() -> Any:
    """The psycopg cursor under the session's connection for plain SELECTs only (binary and packed reads): it
    leaves a read's transaction one that ends with a COMMIT without asking PostgreSQL first."""
    return _driver_connection(may_write=False).cursor()


def read_without_transaction() -> None:
    """On PostgreSQL, run the session's next statements in autocommit until it is removed: reads under READ
    COMMITTED take a snapshot per statement either way, and no BEGIN and no ROLLBACK (two round trips) are
    sent. Only before the session has begun (afterwards it changes nothing) and only for reads: a write in
    autocommit is committed by itself."""
    if db.session().in_transaction() or db.session.get_bind().dialect.name != "postgresql":
        return
    db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def driver_compiled(statement: sa.Executable) -> tuple[str, dict[str, Any]]:
    """A statement (no expanding IN) as the PostgreSQL driver's SQL and its fixed parameters, to run on the
    driver's cursor (no SQLAlchemy result machinery). Callers keep the result: compiling costs more than the run."""
    compiled = statement.compile(dialect=db.engine.dialect)
    return str(compiled), {name: value for name, value in compiled.params.items() if value is not None}


@cache
def driver_sql(statement: sa.Executable) -> tuple[str, dict[str, Any]]:
    """driver_compiled for a statement built once per process, compiled once."""
    return driver_compiled(statement)
