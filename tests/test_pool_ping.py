"""models/pool_ping.py: a pooled connection is checked before use only after sitting idle, and one that
fails the check is replaced, not handed to the request."""

from __future__ import annotations

import sqlalchemy as sa

from models.pool_ping import ping_when_idle


def _engine(database_url: str, idle_seconds: float) -> tuple[sa.Engine, list[int]]:
    engine = sa.create_engine(database_url, pool_size=1, max_overflow=0)
    ping_when_idle(engine, idle_seconds)
    pings: list[int] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection):
        pings.append(id(dbapi_connection))
        return real(dbapi_connection)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return engine, pings


def _driver_connection(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
        return id(connection.connection.dbapi_connection)


def test_a_connection_back_moments_ago_is_not_pinged(migrated):
    engine, pings = _engine(migrated, idle_seconds=60)
    first = _driver_connection(engine)
    assert _driver_connection(engine) == first and _driver_connection(engine) == first
    assert pings == [], "neither a new connection nor one just returned is pinged"
    engine.dispose()


def test_an_idle_connection_is_pinged_and_kept_when_alive(migrated):
    engine, pings = _engine(migrated, idle_seconds=0)
    first = _driver_connection(engine)
    assert _driver_connection(engine) == first
    assert pings == [first]
    engine.dispose()


def test_an_idle_connection_that_fails_its_ping_is_replaced(migrated):
    engine, pings = _engine(migrated, idle_seconds=0)
    first = _driver_connection(engine)
    dbapi = engine.dialect.loaded_dbapi

    def dead(dbapi_connection):
        pings.append(id(dbapi_connection))
        raise dbapi.OperationalError("server closed the connection unexpectedly")

    engine.dialect.do_ping = dead  # type: ignore[method-assign]
    with engine.connect() as connection:  # the pool invalidates the dead one and connects anew
        assert connection.execute(sa.text("SELECT 2")).scalar() == 2
        replacement = connection.connection.dbapi_connection
    assert pings == [first], "the new connection is not pinged"
    assert replacement is not None and not getattr(replacement, "closed", False)
    engine.dispose()
