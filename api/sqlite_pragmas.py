"""SQLite settings applied to every connection of the embedded database."""

from __future__ import annotations

import sqlalchemy as sa


def enable_wal(engine: sa.Engine) -> None:
    """WAL lets the web and worker processes write at once; foreign keys are off by default in SQLite."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
