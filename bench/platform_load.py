"""A synthetic platform loaded straight into PostgreSQL with binary COPY (millions of events in seconds)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import psycopg
from sqlalchemy.engine import make_url

from analytics.synthetic import generate_cohort

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
KINDS = {0: "activity", 1: "module_completed", 2: "assessment"}


def binary_copy(connection, table: str, columns: list[str], arrays: list[tuple[str, np.ndarray]]) -> None:
    """COPY fixed-width NOT NULL columns from numpy arrays in PostgreSQL's binary format."""
    n = len(arrays[0][1])
    fields = [("count", ">i2")]
    for i, (dtype, _) in enumerate(arrays):
        fields += [(f"len{i}", ">i4"), (f"v{i}", dtype)]
    rows = np.empty(n, dtype=np.dtype(fields))
    rows["count"] = len(arrays)
    for i, (dtype, values) in enumerate(arrays):
        rows[f"len{i}"] = np.dtype(dtype).itemsize
        rows[f"v{i}"] = values
    header = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
    with connection.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT binary)") as copy:
        copy.write(header)
        step = 1_000_000
        for start in range(0, n, step):
            copy.write(rows[start : start + step].tobytes())
        copy.write(b"\xff\xff")


def load_platform(database_url: str, learners: int, events_per_learner: float) -> tuple[np.ndarray, float]:
    """Users and events straight into PostgreSQL (set-up, not timed). Returns each learner's profile."""

    cohort = generate_cohort(learners, events_per_learner, seed=7, now=time.time())
    e = cohort.events
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as connection:
        now = datetime.now(UTC)
        with connection.cursor().copy(
            "COPY users (external_id, role, active, created_at, updated_at) FROM STDIN"
        ) as copy:
            for i in range(learners):
                copy.write_row((f"b{i}", "learner", True, now, now))
        first_id = connection.execute("SELECT min(id) FROM users").fetchone()[0]
        micros = ((e.time - PG_EPOCH) * 1e6).astype(np.int64)
        for code, kind in KINDS.items():
            pick = e.kind == code
            connection.execute(
                f"ALTER TABLE events ALTER COLUMN kind SET DEFAULT '{kind}', "
                "ALTER COLUMN body_hash SET DEFAULT '', ALTER COLUMN received_at SET DEFAULT now()"
            )
            columns = [("learner_id", (">i4", e.learner[pick] + first_id)), ("occurred_at", (">i8", micros[pick]))]
            if kind == "assessment":
                columns += [("score", (">f8", e.percent[pick])), ("max_score", (">f8", np.full(pick.sum(), 100.0)))]
            binary_copy(connection, "events", [c for c, _ in columns], [a for _, a in columns])
        connection.execute(
            "ALTER TABLE events ALTER COLUMN kind DROP DEFAULT, ALTER COLUMN body_hash DROP DEFAULT, "
            "ALTER COLUMN received_at DROP DEFAULT"
        )
        connection.execute("ANALYZE")
        connection.commit()
    return cohort.profile, len(e.learner)
