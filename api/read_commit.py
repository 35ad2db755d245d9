"""End a transaction that wrote nothing with COMMIT, not ROLLBACK, so its prepared statements survive.

psycopg forgets every prepared statement on a ROLLBACK (and sends DEALLOCATE ALL before the next statement),
and the session's removal when a request's app context ends rolls back: no statement of a REST read was ever
prepared, each was parsed and planned anew on every request. A transaction that wrote nothing ends the same
either way, so when the context raised nothing, the session has no pending ORM change and PostgreSQL itself says
the transaction holds no transaction id (`pg_current_xact_id_if_assigned()`: nothing inserted, updated, deleted
or row-locked, through the ORM, Core or the driver's cursor), the session commits just before its removal
(requests, and Celery tasks, which run in an app context too); anything else is left to the removal, which
rolls back as before. The app issues no SET, NOTIFY or cursor WITH HOLD, the only things a COMMIT of such a
transaction would keep that a ROLLBACK drops. A transaction that ran only plain SELECTs (through SQLAlchemy, or the
driver's read cursor, models.queries.driver_read_cursor) cannot have written and commits without that question,
one statement and round trip fewer per read.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import sqlalchemy as sa
from flask import Flask
from psycopg.pq import TransactionStatus
from sqlalchemy.orm import Session, SessionTransaction

from models import db
from models.queries import MAY_HAVE_WRITTEN
from models.unprepared import run_unprepared_when_marked

WROTE_NOTHING = "SELECT pg_current_xact_id_if_assigned() IS NULL"
_BEGUN_ON = "learnpulse_begun_on"  # in the session's info: the Connection its transaction began on

log = logging.getLogger(__name__)


def register_read_commit(app: Flask) -> None:
    """On PostgreSQL, commit the session's transaction before its removal when it wrote nothing, and run the
    statements marked UNPREPARED (models/unprepared.py) unprepared. Called after `db.init_app`: teardowns run in
    reverse order, so this one runs just before Flask-SQLAlchemy's removal."""
    with app.app_context():
        run_unprepared_when_marked(db.engine)
        if not sa.event.contains(db.engine, "before_cursor_execute", _note_statement):
            sa.event.listen(db.engine, "before_cursor_execute", _note_statement)
    if not sa.event.contains(db.session, "after_begin", _remember_connection):
        sa.event.listen(db.session, "after_begin", _remember_connection)
    app.teardown_appcontext(commit_if_wrote_nothing)


def _remember_connection(session: Session, transaction: SessionTransaction, connection: sa.Connection) -> None:
    """Keep the connection the session's transaction runs on: the request's end asks it what was written."""
    session.info[_BEGUN_ON] = connection
    connection.info[MAY_HAVE_WRITTEN] = False


def _note_statement(
    connection: sa.Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    """Anything but a plain SELECT (a write, DDL, a WITH that may hold a write) leaves it to PostgreSQL to say
    whether the transaction wrote."""
    if statement[:24].lstrip()[:6].upper() != "SELECT":
        connection.info[MAY_HAVE_WRITTEN] = True


def commit_if_wrote_nothing(exc: BaseException | None) -> None:
    """Commit the context's transaction if the context raised nothing and the transaction wrote nothing."""
    if exc is not None or not db.session.registry.has():
        return  # a failed request or task rolls back; a context that never used the database has nothing to end
    session = db.session()
    connection = session.info.get(_BEGUN_ON)
    if connection is None or not session.is_active or session.new or session.dirty or session.deleted:
        return  # no transaction, a failed flush, or pending changes a commit would flush
    driver = _open_transaction(connection)
    if driver is None:
        return
    try:
        if not connection.info.get(MAY_HAVE_WRITTEN, True) or driver.execute(WROTE_NOTHING).fetchone()[0]:
            session.commit()
    except (psycopg.Error, sa.exc.DBAPIError):
        # the answer is already complete: a connection failing now is the pool's business, as it was when the
        # removal's ROLLBACK met it (the removal still rolls back, or the pool replaces the connection)
        log.warning("ending a read transaction with COMMIT failed", exc_info=True)


def _open_transaction(connection: sa.Connection) -> Any:
    """The psycopg connection under `connection` if a transaction is open on it (not idle, autocommit or failed)."""
    if connection.closed or not connection.in_transaction():
        return None
    driver = connection.connection.driver_connection
    if driver is None or driver.info.transaction_status != TransactionStatus.INTRANS:
        return None
    return driver
