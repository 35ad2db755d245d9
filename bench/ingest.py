"""Ingest throughput through the real HTTP stack (gunicorn -> Flask -> PostgreSQL).

Measures, in one run:
  * single-event requests: requests/s and latency p50/p99, from concurrent keep-alive clients;
  * the request-path floor (with wrk): the same single-event requests with an unknown kind, refused 422 after
    authentication, rate limiting, JSON parsing and validation: what a request costs before storing;
  * batches of 1,000 events: events/s;
  * the baseline: a raw multi-row INSERT of the same rows through the same driver (psycopg 3),
    one statement and one commit per 1,000 rows, with no HTTP, validation or de-duplication;
  * the COPY floor: what the API's batch path asks of PostgreSQL, done raw: binary COPY of 1,000 rows into a
    staging table, then the same INSERT ... SELECT ... ON CONFLICT (the client id's digest) DO NOTHING RETURNING id,
    one commit per batch (no HTTP, validation, learner lookup, mastery or publishing).

Usage: .venv/bin/python bench/ingest.py [--help]
Needs PostgreSQL and Redis (defaults: the local servers); it creates and drops its own database.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from api.config import normalize_database_url  # noqa: E402
from bench.common import bench_parser, fresh_database, percentile, post_from_clients  # noqa: E402
from bench.cpu_use import cpu_per_item, cpu_seconds, own_backend_seconds  # noqa: E402
from bench.ingest_floors import baseline, copy_floor  # noqa: E402
from bench.web_process import start_web  # noqa: E402

SECRET = "bench-secret-" + "x" * 40
START = datetime.now(UTC) - timedelta(days=30)


def event(learner: int, n: int) -> dict:
    """A realistic mix: mostly activity, some assessments; every event carries a client id."""
    at = (START + timedelta(seconds=n * 7 % (29 * 86400))).isoformat()
    base = {"id": uuid.uuid4().hex, "learner": f"bench-{learner}", "occurred_at": at}
    if n % 4 == 0:
        return {**base, "kind": "assessment", "score": n % 11, "max_score": 10, "skill": f"skill-{n % 7}"}
    return {**base, "kind": "activity", "duration_seconds": 60 + n % 600}


def prepare(database_url: str, redis_url: str) -> str:
    """Migrate, create the service user and return its token."""
    from flask_migrate import upgrade

    from api import create_app
    from api.auth.tokens import issue_token
    from models import User, db

    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url})
    with app.app_context():
        upgrade()
        db.session.add(User(external_id="bench-lms", role="service"))
        db.session.commit()
        db.engine.dispose()
    return issue_token(SECRET, "bench-lms", "service", 3600)[0]


def run_clients(url: str, token: str, bodies: list[bytes], clients: int) -> tuple[float, list[float]]:
    """POST event bodies to /api/v1/events from client processes; returns wall seconds and all latencies."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return post_from_clients(f"{url}/api/v1/events", headers, 201, bodies, clients)


def warm_up(url: str, token: str, learners: int) -> None:
    """Create the learners (one batch per 1,000), so the measured runs never pay for a first sight."""
    bodies = [
        json.dumps({"events": [event(k, k) for k in range(i, min(i + 1000, learners))]}).encode()
        for i in range(0, learners, 1000)
    ]
    run_clients(url, token, bodies, 1)


def run_wrk(url: str, token: str, learners: int, connections: int, seconds: int, kind: str = "activity") -> dict:
    """Single events from wrk (C, epoll): the load generator costs far less CPU than Python clients. With an
    unknown `kind` every request must be refused (422): the request path's floor, nothing stored."""
    occurred_at = (START + timedelta(days=1)).isoformat()
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",  # wrk's default (2 s) makes it reconnect while the server still works on the request
        "--latency",
        "-s",
        str(ROOT / "bench" / "single_event.lua"),
        url,
        "--",
        token,
        str(learners),
        occurred_at,
        uuid.uuid4().hex[:8],
        kind,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = json.loads(output.split("WRK_RESULT ", 1)[1].splitlines()[0])
    refused = result["status_errors"] if kind == "activity" else result["requests"] - result["status_errors"]
    if result["errors"] or refused:
        raise RuntimeError(f"wrk saw {result['errors']} failed requests, {refused} unexpected statuses:\n{output}")
    return result


def _arguments() -> argparse.Namespace:
    parser = bench_parser(__doc__, "learnpulse_bench", 14)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--learners", type=int, default=2000)
    parser.add_argument("--single-requests", type=int, default=6000)
    parser.add_argument("--single-clients", type=int, default=8)
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="single-event load generator; auto uses wrk when it is installed",
    )
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--batch-clients", type=int, default=3)
    parser.add_argument("--xapi", action="store_true", help="also xAPI statement batches (bench/xapi_ingest.py)")
    return parser.parse_args()


def _singles(args: argparse.Namespace, url: str, token: str, pid: int, use_wrk: bool) -> dict[str, float]:
    """Single-event requests: rate, p50/p99 latency, web CPU per request."""
    before = cpu_seconds(pid)
    if use_wrk:
        print(f"[3/5] single events: wrk, {args.single_clients} connections for {args.wrk_seconds} s", flush=True)
        result = run_wrk(url, token, args.learners, args.single_clients, args.wrk_seconds)
        count, rps, p50, p99 = (
            result["requests"],
            result["requests"] / result["seconds"],
            result["p50_ms"],
            result["p99_ms"],
        )
    else:
        print(
            f"[3/5] single events: {args.single_requests} requests from {args.single_clients} Python clients",
            flush=True,
        )
        singles = [json.dumps(event(n % args.learners, n)).encode() for n in range(args.single_requests)]
        wall, latencies = run_clients(url, token, singles, args.single_clients)
        count, rps = len(latencies), len(latencies) / wall
        p50, p99 = 1000 * percentile(latencies, 50), 1000 * percentile(latencies, 99)
    single = {"rps": rps, "p50": p50, "p99": p99, "cpu": cpu_per_item(before, cpu_seconds(pid), count)}
    if use_wrk:
        print(
            f"[3/5] request-path floor: the same requests with an unknown kind (422), {args.wrk_seconds} s", flush=True
        )
        before = cpu_seconds(pid)
        refused = run_wrk(url, token, args.learners, args.single_clients, args.wrk_seconds, kind="unknown")
        single["floor"] = (refused["requests"] / refused["seconds"], refused["p99_ms"])
        single["floor_cpu"] = cpu_per_item(before, cpu_seconds(pid), refused["requests"])
    return single


def _batches(args: argparse.Namespace, url: str, token: str, pid: int) -> dict[str, object]:
    """Batches of events: events/s, latency per batch, web CPU per batch."""
    print(f"[4/5] batches: {args.batches} x {args.batch_size} events from {args.batch_clients} clients", flush=True)
    size = args.batch_size
    batches = [
        json.dumps({"events": [event((b * size + n) % args.learners, n) for n in range(size)]}).encode()
        for b in range(args.batches)
    ]
    database = make_url(normalize_database_url(args.database_url)).database
    before, own = cpu_seconds(pid), own_backend_seconds(database)
    wall, latencies = run_clients(url, token, batches, args.batch_clients)
    return {
        "eps": args.batches * size / wall,
        "latencies": latencies,
        "cpu": cpu_per_item(before, cpu_seconds(pid), args.batches),
        "own_pg": 1000 * (own_backend_seconds(database) - own) / args.batches,
    }


def _report(args: argparse.Namespace, use_wrk: bool, single: dict, batch: dict, base: float, floor: float) -> None:
    print("\n| path | figure |\n| --- | --- |")
    client = "wrk" if use_wrk else "Python"
    print(
        f"| single events, {args.single_clients} {client} connections | {single['rps']:,.0f} requests/s; "
        f"p50 {single['p50']:.1f} ms, p99 {single['p99']:.1f} ms |"
    )
    if "floor" in single:
        rate, p99 = single["floor"]
        print(
            f"| request-path floor: the same requests refused at validation (422, nothing stored) | "
            f"{rate:,.0f} requests/s; p99 {p99:.1f} ms |"
        )
    latencies = batch["latencies"]
    print(
        f"| batches of {args.batch_size}, {args.batch_clients} clients | {batch['eps']:,.0f} events/s; "
        f"p50 {1000 * percentile(latencies, 50):.0f} ms, p99 {1000 * percentile(latencies, 99):.0f} ms per batch |"
    )
    print(f"| baseline: raw multi-row INSERT, {args.batch_size} rows/commit | {base:,.0f} rows/s |")
    print(f"| batches / baseline | {batch['eps'] / base:.2f} |")
    if "xapi" in batch:
        from bench.xapi_ingest import report_line

        print(report_line(batch["xapi"], args.batch_size, args.batch_clients, batch["eps"]))
    print(
        f"| COPY floor: COPY + INSERT ... SELECT ... ON CONFLICT, {args.batch_size} rows/commit | {floor:,.0f} rows/s |"
    )
    print(f"| batches / COPY floor | {batch['eps'] / floor:.2f} |")
    print("load average at the end (1/5/15 min): " + " ".join(f"{value:.2f}" for value in os.getloadavg()))
    print(f"\nCPU ms per single-event request: {single['cpu']}")
    if "floor_cpu" in single:
        print(f"CPU ms per request refused at validation (the floor): {single['floor_cpu']}")
    print(f"CPU ms per batch of {args.batch_size}: {batch['cpu']}")
    print(
        f"CPU ms per batch of {args.batch_size} in the benchmark database's own PostgreSQL backends: {batch['own_pg']:.2f}"
    )
    if "xapi" in batch:
        print(f"CPU ms per xAPI batch of {args.batch_size}: {batch['xapi']['cpu']}")


def main() -> None:
    args = _arguments()
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk") is not None)
    database_url = normalize_database_url(args.database_url)
    print(f"[1/5] fresh database {make_url(database_url).database}, migrations, service token", flush=True)
    fresh_database(database_url)
    redis.Redis.from_url(args.redis_url).flushdb()
    token = prepare(database_url, args.redis_url)
    web, port = start_web(
        database_url, args.redis_url, SECRET, "/tmp/learnpulse-bench-ingest-web.log", args.web_workers
    )
    url = f"http://127.0.0.1:{port}"
    try:
        print(
            f"[2/5] gunicorn ({args.web_workers} gevent workers) up at {url}; warming up "
            f"(creates {args.learners} learners)",
            flush=True,
        )
        warm_up(url, token, args.learners)
        run_clients(url, token, [json.dumps(event(n % args.learners, n)).encode() for n in range(300)], 4)
        single = _singles(args, url, token, web.pid, use_wrk)
        batch = _batches(args, url, token, web.pid)
        if args.xapi:
            from bench.xapi_ingest import run_xapi_batches

            before = cpu_seconds(web.pid)
            batch["xapi"] = run_xapi_batches(
                url, token, args.batches, args.batch_size, args.learners, args.batch_clients
            )
            batch["xapi"]["cpu"] = cpu_per_item(before, cpu_seconds(web.pid), args.batches)
    finally:
        web.terminate()
        web.wait()
    print("[5/5] baseline: raw multi-row INSERT through psycopg", flush=True)
    base = baseline(database_url, args.batches * args.batch_size, args.batch_size, START)
    print("[5/5] COPY floor: COPY + the API's INSERT ... SELECT ... ON CONFLICT through psycopg", flush=True)
    floor = copy_floor(database_url, args.batches * args.batch_size, args.batch_size, START)
    redis.Redis.from_url(args.redis_url).flushdb()
    _report(args, use_wrk, single, batch, base, floor)


if __name__ == "__main__":
    main()
