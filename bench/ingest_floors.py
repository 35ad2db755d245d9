"""What PostgreSQL alone does with the ingest benchmark's rows: the figures bench/ingest.py compares the API to.

* baseline: a raw multi-row INSERT, one statement and one commit per batch;
* COPY floor: the statements of the API's batch path (binary COPY into a staging table, then INSERT ... SELECT
  ... ON CONFLICT (the client id's digest) DO NOTHING RETURNING id), with no HTTP, validation or publishing.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy.engine import make_url

from api.events.store import COLUMNS, COPY_TYPES, ON_CONFLICT


def _connect(database_url: str) -> psycopg.Connection:
    """A plain psycopg connection to the benchmark's database (the SQLAlchemy URL without its driver name)."""
    return psycopg.connect(make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False))


def baseline(database_url: str, rows: int, batch: int, start: datetime) -> float:
    """Raw multi-row INSERT + COMMIT per batch through psycopg; returns rows/s."""
    with _connect(database_url) as connection:
        learner_id = connection.execute("SELECT id FROM users WHERE role = 'learner' LIMIT 1").fetchone()[0]
        columns = "(client_id, body_hash, learner_id, kind, occurred_at, received_at, duration_seconds)"
        placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * batch)
        now = datetime.now(UTC)
        started = time.perf_counter()
        for _ in range(rows // batch):
            values = []
            for n in range(batch):
                values += [uuid.uuid4().hex, "0" * 64, learner_id, "activity", start + timedelta(seconds=n), now, 60.0]
            connection.execute(f"INSERT INTO events {columns} VALUES {placeholders}", values)
            connection.commit()
        return (rows // batch) * batch / (time.perf_counter() - started)


FLOOR_COLUMNS = ("id", "client_id", "body_hash", "learner_id", "kind", "occurred_at", "received_at", "duration_seconds")
TYPES = tuple(COPY_TYPES[COLUMNS.index(name)] for name in FLOOR_COLUMNS)  # the binary forms the API sends


def copy_floor(database_url: str, rows: int, batch: int, start: datetime) -> float:
    """The API's statements for a batch, raw: ids from the sequence, COPY into a staging table, INSERT ...
    SELECT ... ON CONFLICT ... RETURNING, commit; returns rows/s."""
    names = ", ".join(FLOOR_COLUMNS)
    with _connect(database_url) as connection:
        learner_id = connection.execute("SELECT id FROM users WHERE role = 'learner' LIMIT 1").fetchone()[0]
        connection.execute("CREATE TEMP TABLE floor_incoming (LIKE events) ON COMMIT DELETE ROWS")
        now = datetime.now(UTC)
        started = time.perf_counter()
        for _ in range(rows // batch):
            with connection.cursor() as cursor:
                cursor.execute("SELECT nextval('events_id_seq') FROM generate_series(1, %s)", (batch,))
                ids = [pk for (pk,) in cursor.fetchall()]
                with cursor.copy(f"COPY floor_incoming ({names}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(TYPES)
                    for pk in ids:
                        copy.write_row((pk, uuid.uuid4().hex, "0" * 64, learner_id, "activity", start, now, 60.0))
                cursor.execute(
                    f"INSERT INTO events ({names}) SELECT {names} FROM floor_incoming ORDER BY id "
                    f"{ON_CONFLICT} RETURNING id"
                )
                cursor.fetchall()
            connection.commit()
        return (rows // batch) * batch / (time.perf_counter() - started)
