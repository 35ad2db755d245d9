"""Batches of 1,000 events through the real API into event logs of different sizes (issue 15, "Growth").

bench/ingest.py measures ingest into a fresh database; bench/growth.py measures the insert statement alone at each
size. This posts batches through gunicorn into a copy of each database bench/big_load.py built (1M, 10M, 50M
events), naming learners already there at random, as an LMS's events do: each row lands on random leaves of the
learner indexes and of the client-id index. Two things grow those indexes' working set, the log's length and the
number of learners written to, so compare logs of one learner count for the first (e.g. 100k learners with 10, 100
and 500 events each) and logs of one length for the second; build them with --client-ids, as an LMS sends ids.
The copy (CREATE DATABASE ... STRATEGY FILE_COPY) is dropped afterwards, so the built databases stay as they were.
Printed per database: its events and learners, events/s from --clients clients, p50 / p99 per batch, and the web's
and PostgreSQL's CPU per batch.

--prewarm loads the copy's event indexes, users and skill mastery into shared buffers first (pg_prewarm), as a
server that has been serving those learners holds them; it matters only when shared_buffers can hold them.

Usage: .venv/bin/python bench/ingest_grown.py URL [URL ...] [--redis-url R] [--batches 40] [--clients 3] [--prewarm]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import redis
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.auth.tokens import issue_token  # noqa: E402
from bench.common import percentile, post_from_clients, print_table  # noqa: E402
from bench.cpu_use import cpu_per_item, cpu_seconds, own_backend_seconds  # noqa: E402
from bench.web_process import start_web, stop_web  # noqa: E402

SECRET = "bench-secret-" + "x" * 40
SIZE = 1000


def copied(url: str) -> str:
    """A file copy of the database in url, named after it (dropped first if a run left one); its URL."""
    source = make_url(url)
    name = f"{source.database}_grown"
    with psycopg.connect(source.set(database="postgres").render_as_string(False), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {source.database} STRATEGY FILE_COPY")
    return source.set(database=name).render_as_string(False)


def prewarm(url: str) -> int:
    """Load the event log's indexes, the users and the skill mastery into shared buffers, as a server that has been
    serving these learners holds them (pg_prewarm); pages loaded."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        return connection.execute(
            "SELECT coalesce(sum(pg_prewarm(c.oid)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') AND (c.relname IN ('users', 'skill_mastery') "
            "OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN ('events'::regclass, 'users'::regclass, "
            "'skill_mastery'::regclass)))"
        ).fetchone()[0]


def drop(url: str) -> None:
    """Drop the copy."""
    target = make_url(url)
    with psycopg.connect(target.set(database="postgres").render_as_string(False), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {target.database} WITH (FORCE)")


def log_facts(url: str) -> tuple[int, int, str]:
    """(events in the log, by the planner's estimate; learners; the service account)."""
    with psycopg.connect(url) as connection:
        events = connection.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'events'").fetchone()[0]
        learners = connection.execute("SELECT count(*) FROM users WHERE role = 'learner'").fetchone()[0]
        service = connection.execute("SELECT external_id FROM users WHERE role = 'service' LIMIT 1").fetchone()[0]
    return events, learners, service


def batch_body(rng: random.Random, learners: int, now: datetime) -> bytes:
    """A batch of SIZE new events naming random existing learners b0 ... b<learners - 1> (ingest.py's mix: a
    quarter assessments naming one of 7 skills), within the last 10 hours."""
    batch = []
    for n in range(SIZE):
        base = {"id": uuid.uuid4().hex, "learner": f"b{rng.randrange(learners)}",
                "occurred_at": (now - timedelta(minutes=rng.randrange(1, 600))).isoformat()}  # fmt: skip
        extra = (
            {"kind": "assessment", "score": n % 11, "max_score": 10, "skill": f"skill-{n % 7}"}
            if n % 4 == 0
            else {"kind": "activity", "duration_seconds": 60 + n % 600}
        )
        batch.append({**base, **extra})
    return json.dumps({"events": batch}).encode()


@dataclass
class Served:
    """A copy of a grown database with a web tier on it, and what the posting clients need to know."""

    copy: str
    port: int
    web_pid: int
    token: str
    events: int
    learners: int


@contextmanager
def served_copy(url: str, redis_url: str, warm: bool, log: str) -> Iterator[Served]:
    """A FILE_COPY of the database in url (prewarmed if `warm`) served by a 2-worker gunicorn, with the LMS
    account's token; the web tier is stopped and the copy dropped on the way out."""
    copy = copied(url)
    try:
        if warm:
            print(f"{make_url(url).database}: {prewarm(copy) * 8 // 1024:,} MB prewarmed", flush=True)
        events, learners, service = log_facts(copy)
        redis.Redis.from_url(redis_url).flushdb()
        web, port = start_web(copy, redis_url, SECRET, log, 2)
        try:
            yield Served(copy, port, web.pid, issue_token(SECRET, service, "service", 7200)[0], events, learners)
        finally:
            stop_web(web)
    finally:
        drop(copy)


def measure(url: str, redis_url: str, batches: int, clients: int, warm: bool) -> str:
    """One database: its copy (prewarmed if `warm`), a web tier on it, the batches posted; a table row."""
    with served_copy(url, redis_url, warm, "/tmp/bench_ingest_grown_web.log") as served:
        rng, now = random.Random(7), datetime.now(UTC)
        posts = [batch_body(rng, served.learners, now) for _ in range(batches + clients)]
        headers = {"Authorization": f"Bearer {served.token}", "Content-Type": "application/json"}
        endpoint = f"http://127.0.0.1:{served.port}/api/v1/events"
        post_from_clients(endpoint, headers, 201, posts[:clients], clients)  # warm: connections, caches
        database = make_url(served.copy).database
        before, own = cpu_seconds(served.web_pid), own_backend_seconds(database)
        wall, latencies = post_from_clients(endpoint, headers, 201, posts[clients:], clients)
        own_ms = 1000 * (own_backend_seconds(database) - own) / batches
        cpu = cpu_per_item(before, cpu_seconds(served.web_pid), batches)
    return (
        f"| {make_url(url).database} | {served.events:,} | {served.learners:,} | {batches * SIZE / wall:,.0f} | "
        f"{1000 * percentile(latencies, 50):.0f} / {1000 * percentile(latencies, 99):.0f} ms | {cpu} | {own_ms:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("urls", nargs="+", help="databases built by bench/big_load.py (copied, never written)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6397/13")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument(
        "--prewarm", action="store_true", help="the copy's indexes, users and mastery into shared buffers"
    )
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}", flush=True)
    rows = [measure(url, args.redis_url, args.batches, args.clients, args.prewarm) for url in args.urls]
    print(f"load average after: {os.getloadavg()}")
    batches = f"batches of {SIZE}, {args.clients} clients: events/s"
    columns = ["database", "events (estimate)", "learners", batches, "p50 / p99 per batch", "CPU ms per batch"]
    print_table([*columns, "the database's own backends, ms per batch"], rows)


if __name__ == "__main__":
    main()
