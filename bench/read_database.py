"""Which database a read benchmark measures: the ids its floors need, the account it reads as, and read-only
access to a database built elsewhere (bench/reads.py, bench/reads_lean.py, bench/events_page.py)."""

from __future__ import annotations

import os
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from api.config import normalize_database_url

HEAVY = "bench-heavy"  # bench/reads.py's learner with 10,000 events


def ids(dsn: str, existing: bool) -> dict:
    """Internal ids the floors need, read once (on an existing database: a learner in the middle of the id
    range, its events counted through the index, and the service account; no full scan), and the role the
    reading account signs with (a built school's admin, or a big_load database's LMS service account)."""
    with psycopg.connect(dsn) as connection:

        def one(sql: str, *args) -> Any:
            return connection.execute(sql, args).fetchone()

        events = one("SELECT reltuples::bigint FROM pg_class WHERE relname = 'events'")[0]
        if existing:
            typical = one("SELECT id, external_id FROM users WHERE role = 'learner' ORDER BY id LIMIT 1 OFFSET "
                          "(SELECT count(*) / 2 FROM users WHERE role = 'learner')")  # fmt: skip
            service = one("SELECT external_id FROM users WHERE role = 'service' ORDER BY id LIMIT 1")[0]
            count = one("SELECT count(*) FROM events WHERE learner_id = %s", typical[0])[0]
            return {"typical": typical, "service": service, "service_role": "service", "typical_events": count,
                    "events": events}  # fmt: skip
        sections = [
            r[0]
            for r in connection.execute("SELECT id FROM sections WHERE external_id LIKE 'bench-sec-%%' ORDER BY id")
        ]
        return {
            "heavy": one("SELECT id FROM users WHERE external_id = %s", HEAVY)[0],
            "typical": one("SELECT id, external_id FROM users WHERE external_id = %s", "bench-l0-7"),
            "typical_events": one(
                "SELECT count(*) FROM events e JOIN users u ON u.id = e.learner_id WHERE u.external_id = %s",
                "bench-l0-7",
            )[0],
            "service": "bench-admin",
            "service_role": "admin",
            "sections": sections,
            "events": events,
        }


def set_read_only() -> None:
    """Every transaction of this process, its web process and the floors is read-only from now on: a database
    built elsewhere (--existing) is read, never written (a write would fail)."""
    os.environ["PGOPTIONS"] = "-c default_transaction_read_only=on"


def measured_database(database_url: str, existing: bool) -> tuple[str, str, dict]:
    """(the SQLAlchemy URL, the psycopg DSN, ids()) of the database a read benchmark measures; read-only when
    `existing`. For the benchmarks that measure without building (reads_lean.py, events_page.py)."""
    url = normalize_database_url(database_url)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    known = ids(dsn, existing)
    if existing:
        set_read_only()
    return url, dsn, known
