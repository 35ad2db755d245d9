"""A request's transaction that wrote nothing ends with COMMIT, so psycopg keeps its prepared statements
(api/read_commit.py); a request that wrote, failed or left changes pending still rolls back, on both backends.
Each request here runs in its own app context, as in production (the `app` fixture's context would be shared)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask

from api.errors import ApiError
from models import User, db
from models.queries import driver_cursor
from tests.conftest import bearer, create_user

DRIVER_INSERT = (
    "INSERT INTO users (external_id, role, active, created_at, updated_at)"
    " VALUES ('driver', 'learner', true, now(), now())"
)
ONE_CONNECTION = {"pool_size": 1, "max_overflow": 0}  # every request on the same pooled connection


def _prepared(app: Flask, like: str) -> list[str]:
    """The server's prepared statements on the pooled connection whose text contains `like`."""
    with app.app_context():
        cursor = db.session.connection().connection.driver_connection.cursor()
        rows = cursor.execute("SELECT statement FROM pg_prepared_statements").fetchall()
        return [row[0] for row in rows if like in row[0]]


def _on_postgresql(app: Flask) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def _app_with_learner(make_app: Callable[..., Flask]) -> tuple[Flask, dict[str, str]]:
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS=ONE_CONNECTION)
    with app.app_context():
        headers = bearer(create_user("root", "admin"))
        create_user("l1", "learner")
    return app, headers


def test_a_read_request_leaves_its_statements_prepared(make_app):
    app, headers = _app_with_learner(make_app)
    client = app.test_client()
    for _ in range(7):  # psycopg prepares a statement on its 6th run on a connection (threshold 5)
        assert client.get("/api/v1/learners/l1/events", headers=headers).status_code == 200
    if not _on_postgresql(app):
        return
    assert _prepared(app, "FROM events"), "the page's statement was deallocated: the request ended with ROLLBACK"


def test_a_time_range_page_is_never_prepared(make_app):
    """Its plan depends on the range (models/unprepared.py): planned for its values every time."""
    app, headers = _app_with_learner(make_app)
    client = app.test_client()
    for _ in range(7):
        url = "/api/v1/learners/l1/events?since=2026-01-01T00:00:00Z"
        assert client.get(url, headers=headers).status_code == 200
    if not _on_postgresql(app):
        return
    assert _prepared(app, "FROM users"), "the requests' transactions were rolled back"
    assert not _prepared(app, "occurred_at >="), "the time-range page was prepared"


def test_a_request_of_plain_selects_commits_without_asking_postgresql(make_app):
    """Only SELECTs ran (through SQLAlchemy and the driver's read cursor): nothing can have been written, so the
    transaction-id question is never asked (it would be prepared by now had it run on every request)."""
    app, headers = _app_with_learner(make_app)
    client = app.test_client()
    for _ in range(7):
        assert client.get("/api/v1/learners/l1/events", headers=headers).status_code == 200
        assert client.get("/api/v1/learners/l1/analytics", headers=headers).status_code == 200
    if not _on_postgresql(app):
        return
    assert _prepared(app, "FROM events"), "the requests' transactions were rolled back"
    assert not _prepared(app, "pg_current_xact_id_if_assigned"), "a read of plain SELECTs asked what it wrote"


def _routes(app: Flask) -> None:
    """Requests that write and then fail, or never commit: none of their rows may survive."""

    def add(name: str) -> None:
        db.session.add(User(external_id=name, role="learner"))
        db.session.flush()

    def handled_error() -> Any:
        add("handled")
        raise ApiError(409, "refused after the write")

    def unhandled_error() -> Any:
        add("unhandled")
        raise RuntimeError("a bug after the write")

    def no_commit() -> Any:
        add("flushed")
        return {"ok": True}

    def pending() -> Any:
        db.session.add(User(external_id="pending", role="learner"))
        return {"ok": True}

    def driver_write() -> Any:
        if db.engine.dialect.name == "postgresql":  # a write the session cannot see: PostgreSQL says it wrote
            driver_cursor().execute(DRIVER_INSERT)
        return {"ok": True}

    def core_write() -> Any:
        db.session.execute(sa.text("SELECT 1"))  # a plain read first, then a write the ORM does not track
        db.session.execute(sa.insert(User.__table__).values(external_id="core", role="learner"))
        return {"ok": True}

    for view in (handled_error, unhandled_error, no_commit, pending, driver_write, core_write):
        app.add_url_rule(f"/test/{view.__name__}", view_func=view, methods=["GET", "POST"])


def test_requests_that_wrote_without_committing_still_roll_back(make_app):
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS=ONE_CONNECTION, PROPAGATE_EXCEPTIONS=False)
    _routes(app)
    client = app.test_client()
    assert client.post("/test/handled_error").status_code == 409
    assert client.post("/test/unhandled_error").status_code == 500
    for name in ("no_commit", "pending", "driver_write", "core_write"):
        assert client.get(f"/test/{name}").status_code == 200  # a read's method and a success: still rolled back
    with app.app_context():
        assert db.session.scalars(sa.select(User.external_id)).all() == []


def test_a_committed_write_is_kept_and_a_read_after_it_changes_nothing(make_app):
    app, headers = _app_with_learner(make_app)
    client = app.test_client()
    created = client.put("/api/v1/users/l2", json={"role": "learner", "name": "Two"}, headers=headers)
    assert created.status_code == 201, created.get_json()
    assert client.get("/api/v1/users/l2", headers=headers).get_json()["name"] == "Two"
    assert client.get("/api/v1/learners/l2/events", headers=headers).status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(User.name).where(User.external_id == "l2")) == "Two"
