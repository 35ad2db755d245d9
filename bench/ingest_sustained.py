"""Batches of 1,000 posted without pause for --minutes into a copy of a grown log: does the rate recover as the
WAL's full-page images thin out? (issue 15, "Growth")

bench/ingest_grown.py posts 40 batches right after the copy's checkpoint, when the first change to every index leaf
writes the whole page to the WAL. A server that ingests all the time writes each leaf's image once per checkpoint,
so between checkpoints the images per row should fall as the leaves are touched again. This keeps --clients clients
posting fresh batches (new client ids, random existing learners) through gunicorn for --minutes and prints, per
--window seconds: events/s, the batch p50, and full-page images and WAL bytes per stored row (pg_stat_wal, whole
server: run nothing else). Make the checkpoints rare enough for the run to show it (e.g. checkpoint_timeout = 30min,
max_wal_size = 16GB), and say which settings ran.

Usage: .venv/bin/python bench/ingest_sustained.py URL [--minutes 10] [--window 60] [--clients 3] [--prewarm]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile, print_table  # noqa: E402
from bench.ingest_grown import SIZE, batch_body, served_copy  # noqa: E402


def post_until(job: tuple[int, str, int, float, int]) -> list[tuple[float, float]]:
    """One client: fresh batches posted in turn until the deadline (a time.time()); (end time, latency) each."""
    port, token, learners, deadline, seed = job
    rng, connection = random.Random(seed), http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    done = []
    while time.time() < deadline:
        body = batch_body(rng, learners, datetime.now(UTC))
        started = time.time()
        connection.request("POST", "/api/v1/events", body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        if response.status != 201:
            raise RuntimeError(f"unexpected {response.status}: {payload[:300]!r}")
        done.append((time.time(), time.time() - started))
    return done


def wal_now(url: str) -> tuple[float, int, int]:
    """(time, full-page images, WAL bytes) of the whole server so far."""
    with psycopg.connect(url) as connection:
        fpi, written = connection.execute("SELECT wal_fpi, wal_bytes FROM pg_stat_wal").fetchone()
    return time.time(), int(fpi), int(written)


def windows(started: float, batches: list[tuple[float, float]], wal: list[tuple[float, int, int]]) -> list[str]:
    """Table rows: between consecutive WAL samples, events/s, batch p50, and WAL per stored row."""
    rows = []
    for (t0, fpi0, bytes0), (t1, fpi1, bytes1) in zip(wal, wal[1:], strict=False):
        inside = [latency for end, latency in batches if t0 <= end < t1]
        stored = len(inside) * SIZE
        if not inside:
            continue
        rows.append(
            f"| {t0 - started:.0f}-{t1 - started:.0f} s | {stored / (t1 - t0):,.0f} | "
            f"{1000 * percentile(inside, 50):.0f} ms | {(fpi1 - fpi0) / stored:.2f} | "
            f"{(bytes1 - bytes0) / stored / 1024:.2f} KB |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="a database built by bench/big_load.py (copied, never written)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6397/13")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--window", type=float, default=60, help="seconds per row of the table")
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument(
        "--prewarm", action="store_true", help="the copy's indexes, users and mastery into shared buffers"
    )
    args = parser.parse_args()
    with served_copy(args.url, args.redis_url, args.prewarm, "/tmp/bench_ingest_sustained_web.log") as served:
        load = os.getloadavg()
        print(f"{served.events:,} events, {served.learners:,} learners; load average before: {load}", flush=True)
        started = time.time()
        deadline = started + 60 * args.minutes
        jobs = [(served.port, served.token, served.learners, deadline, seed) for seed in range(args.clients)]
        with multiprocessing.Pool(args.clients) as pool:
            running = pool.map_async(post_until, jobs)
            wal = [wal_now(served.copy)]
            while not running.ready():
                running.wait(min(args.window, max(0.1, deadline + 5 - time.time())))
                wal.append(wal_now(served.copy))
            batches = [done for client in running.get() for done in client]
    print(f"load average after: {os.getloadavg()}")
    columns = ["window", f"events/s ({args.clients} clients, batches of {SIZE})", "batch p50"]
    print_table([*columns, "full-page images per row", "WAL per row"], windows(started, batches, wal))


if __name__ == "__main__":
    main()
