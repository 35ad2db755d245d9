"""xAPI statement batches through the real HTTP stack, beside our own event batches (same server, same run).

Each batch is 1,000 statements (a quarter `scored` with result.score, the rest `experienced` with a
duration), POSTed to /xapi/statements: validated, stored as statements, mapped, and ingested as
events through the same path as POST /api/v1/events. The figure that counts is statements/s
against events/s of POST /api/v1/events batches of the same size measured in the same run.

Usage: .venv/bin/python bench/xapi_ingest.py [--help]   (or bench/ingest.py --xapi, beside its other figures)
Needs PostgreSQL and Redis; it creates and drops its own database.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADL = "http://adlnet.gov/expapi/verbs/"


def statement(learner: int, n: int) -> dict:
    """The same mix as bench/ingest.py's events, as an LMS would send it in xAPI."""
    from bench.ingest import START

    at = (START + timedelta(seconds=n * 7 % (29 * 86400))).isoformat()
    body = {
        "id": str(uuid.uuid4()),
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": "https://lms.example.org", "name": f"bench-{learner}"},
        },
        "timestamp": at,
        "object": {"objectType": "Activity", "id": f"https://lms.example.org/activity/{n % 50}"},
    }
    if n % 4 == 0:
        score = {"raw": n % 11, "min": 0, "max": 10, "scaled": (n % 11) / 10}
        return {**body, "verb": {"id": ADL + "scored", "display": {"en-US": "scored"}}, "result": {"score": score}}
    return {**body, "verb": {"id": ADL + "experienced"}, "result": {"duration": f"PT{60 + n % 600}S"}}


def run_xapi_batches(url: str, token: str, batches: int, size: int, learners: int, clients: int) -> dict:
    """Statement batches from client processes: statements/s and latency per batch."""
    from bench.common import post_from_clients

    bodies = [
        json.dumps([statement((b * size + n) % learners, n) for n in range(size)]).encode() for b in range(batches)
    ]
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "X-Experience-API-Version": "1.0.3",
    }
    wall, latencies = post_from_clients(f"{url}/xapi/statements", headers, 200, bodies, clients)
    return {"eps": batches * size / wall, "latencies": latencies}


def report_line(xapi: dict, size: int, clients: int, events_per_second: float) -> str:
    from bench.common import percentile

    latencies = xapi["latencies"]
    return (
        f"| xAPI statement batches of {size}, {clients} clients | {xapi['eps']:,.0f} statements/s; "
        f"p50 {1000 * percentile(latencies, 50):.0f} ms, p99 {1000 * percentile(latencies, 99):.0f} ms per batch |\n"
        f"| xAPI statements / event batches (same run) | {xapi['eps'] / events_per_second:.2f} |"
    )


def _arguments() -> argparse.Namespace:
    from bench.common import bench_parser

    parser = bench_parser(__doc__, "learnpulse_bench_xapi", 13)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--learners", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--batch-clients", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="alternate event and statement runs this many times")
    return parser.parse_args()


def main() -> None:
    """Event batches and statement batches, alternated on one server, so load drifts hit both alike."""
    import redis
    from sqlalchemy.engine import make_url

    from api.config import normalize_database_url
    from bench.common import fresh_database
    from bench.ingest import SECRET, _batches, prepare, warm_up
    from bench.web_process import start_web

    args = _arguments()
    database_url = normalize_database_url(args.database_url)
    print(f"fresh database {make_url(database_url).database}; gunicorn with {args.web_workers} workers", flush=True)
    fresh_database(database_url)
    redis.Redis.from_url(args.redis_url).flushdb()
    token = prepare(database_url, args.redis_url)
    web, port = start_web(database_url, args.redis_url, SECRET, "/tmp/learnpulse-bench-xapi-web.log", args.web_workers)
    url = f"http://127.0.0.1:{port}"
    events, statements = [], []
    try:
        warm_up(url, token, args.learners)
        run_xapi_batches(url, token, 2, args.batch_size, args.learners, 1)
        for round_ in range(args.rounds):
            print(f"round {round_ + 1}: events, then statements", flush=True)
            events.append(_batches(args, url, token, web.pid)["eps"])
            statements.append(
                run_xapi_batches(url, token, args.batches, args.batch_size, args.learners, args.batch_clients)
            )
    finally:
        web.terminate()
        web.wait()
    redis.Redis.from_url(args.redis_url).flushdb()
    best_events = max(events)
    best = max(statements, key=lambda s: s["eps"])
    print("\n| path | figure |\n| --- | --- |")
    print(
        f"| event batches of {args.batch_size}, {args.batch_clients} clients (best of {args.rounds}) | {best_events:,.0f} events/s |"
    )
    print(report_line(best, args.batch_size, args.batch_clients, best_events))
    print(f"\nper round: events/s {[round(e) for e in events]}, statements/s {[round(s['eps']) for s in statements]}")


if __name__ == "__main__":
    main()
