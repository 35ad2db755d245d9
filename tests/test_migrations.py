"""The one migration chain: it builds exactly the models' schema, and runs down and up again."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy.engine import make_url

from api import create_app
from models import db
from models.base import built_on
from tests.conftest import base_config, repo_root


@pytest.fixture
def scratch_database(database_url: str, tmp_path) -> Iterator[str]:
    """An empty database of the same backend as the suite's."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    name = f"{make_url(database_url).database}_migration_check"  # beside the suite's own: one per test database
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def test_migrations_build_the_models_schema_and_reverse(scratch_database: str, redis_url: str):
    app = create_app(base_config(scratch_database, redis_url))
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            options = {"include_object": built_on(connection.dialect.name)}
            diff = compare_metadata(MigrationContext.configure(connection, opts=options), db.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "events" in sa.inspect(db.engine).get_table_names()
        db.engine.dispose()


EVENT_INDEXES = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events'"


def test_the_bench_loader_leaves_the_event_log_indexed_as_the_migrations_do(
    scratch_database: str, migrated: str
) -> None:
    if not scratch_database.startswith("postgresql"):
        pytest.skip("bench/big_load.py loads PostgreSQL only: the suite's PostgreSQL run checks it")
    loader = repo_root() / "bench" / "big_load.py"
    shape = ["--learners", "60", "--events-per-learner", "5", "--chunk", "40", "--courses", "2", "--client-ids"]
    subprocess.run([sys.executable, str(loader), "--database-url", scratch_database, *shape], check=True)
    loaded, reference = sa.create_engine(scratch_database), sa.create_engine(migrated)
    with loaded.connect() as bench, reference.connect() as suite:
        assert dict(bench.execute(sa.text(EVENT_INDEXES)).all()) == dict(suite.execute(sa.text(EVENT_INDEXES)).all())
        assert bench.scalar(sa.text("SELECT count(DISTINCT client_id) FROM events")) > 0
    loaded.dispose()
    reference.dispose()


def _declared_collations(dialect: sa.Dialect) -> dict[tuple[str, str], str | None]:
    """Each string column's collation as the models declare it for `dialect` (None: the database's)."""
    declared = {}
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            kind = column.type.dialect_impl(dialect)
            if isinstance(kind, sa.String):
                declared[(table.name, column.name)] = kind.collation
    return declared


def test_the_migrations_give_each_identifier_the_collation_the_models_declare(scratch_database: str, redis_url: str):
    """compare_metadata does not compare collations: a column left linguistic would pass it unseen."""
    app = create_app(base_config(scratch_database, redis_url))
    with app.app_context():
        if db.engine.dialect.name != "postgresql":  # SQLite compares bytes everywhere and knows no "C"
            assert not any(_declared_collations(db.engine.dialect).values())
            return
        upgrade()
        with db.engine.connect() as connection:
            stored = connection.execute(
                sa.text(
                    "SELECT table_name, column_name, collation_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND collation_name IS NOT NULL"
                )
            )
            found = {(table, column): collation for table, column, collation in stored}
        declared = _declared_collations(db.engine.dialect)
        db.engine.dispose()
    assert {key: name for key, name in declared.items() if name} == found
    assert found[("events", "client_id")] == "C"
