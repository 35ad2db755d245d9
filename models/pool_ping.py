"""Check a pooled connection before use only when it has sat idle: what pool_pre_ping is for, without its
round trip on every checkout.

pool_pre_ping sends `SELECT 1` on every checkout, so a connection PostgreSQL dropped while it sat in the
pool (a server restart, an idle timeout, a failover) is replaced instead of failing the request. Under
load a web process checks a connection out for every request or group of single events, each seconds or
less after its last use: that ping was a tenth of a single event's database round trips and ~4% of its
web CPU. Here only a connection idle for IDLE_SECONDS or more is pinged (SQLAlchemy's documented custom
"pessimistic disconnect" recipe: a failed ping raises DisconnectionError and the pool connects anew).
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

IDLE_SECONDS = 1.0
_RETURNED = "learnpulse_returned_at"  # in the pool record's info: when the connection came back to the pool


def ping_when_idle(engine: sa.Engine, idle_seconds: float = IDLE_SECONDS) -> None:
    """Listen on `engine`'s pool: stamp each check-in, ping at check-out after `idle_seconds` idle."""

    @sa.event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned = record.info.pop(_RETURNED, None)
        if returned is None or time.monotonic() - returned < idle_seconds:
            return  # new (just connected), or back in the pool moments ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DisconnectionError("a pooled connection failed its ping") from exc
