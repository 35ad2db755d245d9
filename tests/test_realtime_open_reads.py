"""A socket open reads without a transaction on PostgreSQL (no BEGIN, no ROLLBACK), and only opens that read
the database take a connection for it."""

from __future__ import annotations

import sqlalchemy as sa
from psycopg.pq import TransactionStatus

from api.auth.guard import Principal
from api.realtime.initial_data import dashboard_initial_data
from api.realtime.session import _channels_for, _channels_read_database
from api.realtime.subscriptions import taught_section_rows
from models import Section, db
from models.queries import read_without_transaction
from tests.conftest import create_user

ENDPOINTS = ("dashboard", "alerts", "metrics", "activity", "performance", "any")


def _postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def test_reads_skip_begin_and_rollback_on_postgresql(app) -> None:
    if not _postgresql():
        return  # SQLite: the test below
    read_without_transaction()
    driver = db.session.connection().connection.driver_connection
    assert db.session.execute(sa.text("SELECT 1")).scalar() == 1
    assert driver.autocommit and driver.info.transaction_status == TransactionStatus.IDLE  # no BEGIN was sent
    db.session.remove()
    db.session.execute(sa.text("SELECT 1"))
    again = db.session.connection().connection.driver_connection
    assert not again.autocommit and again.info.transaction_status == TransactionStatus.INTRANS  # reset on return
    db.session.remove()


def test_a_begun_session_keeps_its_transaction(app) -> None:
    db.session.execute(sa.text("SELECT 1"))
    read_without_transaction()
    assert db.session().in_transaction()
    if _postgresql():
        driver = db.session.connection().connection.driver_connection
        assert not driver.autocommit and driver.info.transaction_status == TransactionStatus.INTRANS
    db.session.remove()


def test_nothing_changes_on_sqlite(app) -> None:
    if _postgresql():
        return  # the PostgreSQL case is the test above
    read_without_transaction()
    assert not db.session().in_transaction()


def test_an_open_takes_a_connection_exactly_when_it_reads(app) -> None:
    """_channels_read_database must match what finding the channels reads: a wrong True costs a checkout for
    nothing, a wrong False loses the saving (and would go unseen). A dashboard's initial data always reads (on
    PostgreSQL partly on the driver's cursor, which SQLAlchemy's statement events do not see: so that part counts
    the connections it takes)."""
    ted = create_user("ted", "educator")
    db.session.add(Section(external_id="s1", name="s1", educator_id=ted.id))
    db.session.commit()
    users = [create_user("lea", "learner"), ted, create_user("ada", "admin"), create_user("svc", "service")]
    principals = [Principal(user.id, user.external_id, user.role) for user in users]
    db.session.remove()
    statements: list[str] = []

    def record(*args) -> None:
        statements.append(args[2])

    checkouts: list[object] = []

    def checkout(*args) -> None:
        checkouts.append(args[0])

    sa.event.listen(db.engine, "before_cursor_execute", record)
    sa.event.listen(db.engine, "checkout", checkout)
    try:
        for user in principals:
            for endpoint in ENDPOINTS:
                statements.clear()
                try:
                    _channels_for(endpoint, user, "ted" if endpoint == "performance" else None)
                except Exception:  # noqa: BLE001  (a refused open still read what it read)
                    pass
                db.session.remove()
                assert _channels_read_database(endpoint, user) == bool(statements), (user.role, endpoint, statements)
            checkouts.clear()
            dashboard_initial_data(user, "s")
            db.session.remove()
            assert checkouts, user.role
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
        sa.event.remove(db.engine, "checkout", checkout)


TAUGHT = "SELECT sections.id, sections.external_id, sections.course_id \nFROM sections"


def test_an_educators_dashboard_open_reads_the_sections_taught_once(app) -> None:
    """The open reads the educator's sections for its channels and hands them to the initial data: the same
    channels and the same initial data as reading them twice, with one statement on `sections` instead of two."""
    ted = create_user("ted", "educator")
    db.session.add_all(Section(external_id=f"s{k}", name=f"s{k}", educator_id=ted.id) for k in (2, 1, 3))
    db.session.commit()
    educator = Principal(ted.id, ted.external_id, ted.role)
    statements: list[str] = []

    def record(*args) -> None:
        statements.append(args[2])

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        taught = taught_section_rows(educator.id)
        assert [row.external_id for row in taught] == ["s1", "s2", "s3"]
        statements.clear()
        channels, data = (
            _channels_for("dashboard", educator, None, taught),
            dashboard_initial_data(educator, "s", taught),
        )
        assert not [s for s in statements if s.startswith(TAUGHT)]
        db.session.remove()
        statements.clear()
        assert _channels_for("dashboard", educator, None) == channels == ["section:s1", "section:s2", "section:s3"]
        assert dashboard_initial_data(educator, "s") == data
        assert len([s for s in statements if s.startswith(TAUGHT)]) == 2  # the old way: each read them
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
        db.session.remove()
