"""Does the event log's size change the cost of reading one learner and of ingesting a batch?

For each database given (loaded by bench/big_load.py at different sizes): the events of random learners
read by the (learner_id, occurred_at) index, and batches of 1,000 events inserted with the unique
client id the API uses, each in a transaction rolled back (the databases are left as they were).
Prints p50/p99 per database, the table and index sizes, so the rows can be compared side by side.

Usage: .venv/bin/python bench/growth.py URL [URL ...] [--reads N] [--batches N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.events.store import ON_CONFLICT  # noqa: E402
from bench.common import percentile  # noqa: E402

READ = (
    "SELECT id, kind, occurred_at, score, max_score, module_id FROM events WHERE learner_id = %s ORDER BY occurred_at"
)
INSERT = (
    "INSERT INTO events (client_id, body_hash, learner_id, kind, occurred_at, received_at, course_id, module_id) "
    "SELECT unnest(%s::text[]), '', unnest(%s::int[]), 'activity', unnest(%s::timestamptz[]), now(), NULL, NULL "
    + ON_CONFLICT
)


def _buffers(connection: psycopg.Connection, statement: str, params: tuple) -> int:
    """Shared buffers (hit + read) a statement touches: its I/O work, whatever the machine's load."""
    plan = connection.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}", params).fetchone()[0][0]["Plan"]
    return int(plan["Shared Hit Blocks"] + plan["Shared Read Blocks"])


def measure(url: str, reads: int, batches: int) -> dict:
    rng = np.random.default_rng(0)
    with psycopg.connect(url) as connection:
        low, high, events = connection.execute(
            "SELECT min(id), max(id), (SELECT reltuples::bigint FROM pg_class WHERE relname = 'events') "
            "FROM users WHERE role = 'learner'"
        ).fetchone()
        sizes = connection.execute(
            "SELECT pg_size_pretty(pg_table_size('events')), pg_size_pretty(pg_indexes_size('events'))"
        ).fetchone()
        learners = rng.integers(low, high + 1, reads)
        read_ms, rows, read_buffers = [], 0, []
        for learner in learners:
            started = time.perf_counter()
            rows += len(connection.execute(READ, (int(learner),)).fetchall())
            read_ms.append(1000 * (time.perf_counter() - started))
            if len(read_buffers) < 100:
                read_buffers.append(_buffers(connection, READ, (int(learner),)) / max(1, rows / len(read_ms)))
        insert_ms, insert_buffers = [], []
        now = datetime.now(UTC)
        for _ in range(batches):
            ids = [uuid.uuid4().hex for _ in range(1000)]
            who = rng.integers(low, high + 1, 1000).tolist()
            when = [now - timedelta(seconds=int(s)) for s in rng.integers(0, 86400, 1000)]
            started = time.perf_counter()
            connection.execute(INSERT, (ids, who, when))
            insert_ms.append(1000 * (time.perf_counter() - started))
            connection.rollback()
            if len(insert_buffers) < 10:
                ids = [uuid.uuid4().hex for _ in range(1000)]
                insert_buffers.append(_buffers(connection, INSERT, (ids, who, when)) / 1000)
                connection.rollback()
    return {
        "events": events,
        "sizes": sizes,
        "rows_per_read": rows / reads,
        "read": (percentile(read_ms, 50), percentile(read_ms, 99)),
        "insert": (percentile(insert_ms, 50), percentile(insert_ms, 99)),
        "read_buffers": percentile(read_buffers, 50),
        "insert_buffers": percentile(insert_buffers, 50),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--reads", type=int, default=400)
    parser.add_argument("--batches", type=int, default=40)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    print(
        "| database | events | table / indexes | rows per learner | learner read p50 / p99 | buffers per row read | "
        "1,000-event insert p50 / p99 | buffers per row inserted |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    for url in args.urls:
        r = measure(url, args.reads, args.batches)
        print(
            f"| {url.rsplit('/', 1)[-1]} | {r['events']:,} | {r['sizes'][0]} / {r['sizes'][1]} | "
            f"{r['rows_per_read']:.0f} | {r['read'][0]:.2f} / {r['read'][1]:.2f} ms | {r['read_buffers']:.2f} | "
            f"{r['insert'][0]:.1f} / {r['insert'][1]:.1f} ms | {r['insert_buffers']:.2f} |",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
