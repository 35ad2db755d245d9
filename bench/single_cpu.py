"""Web CPU per single-event request through gunicorn (2 gevent workers) and wrk: this tree against another (the base).

Each round runs one web tier per tree (order alternating, each run under `flock /tmp/quiet.lock`, as the helpers'
rules ask), from that tree's directory, against one database built once: after a warm-up, wrk posts single
events for --seconds (stored: `activity`, the one-trip lane) and then the same requests with an unknown kind
(the 422 floor: authentication, rate limit, JSON, validation). Per run it prints requests/s, p50/p99 and the
CPU ms per request of the web processes, PostgreSQL and Redis, as bench/ingest.py measures them; at the end the
medians per tree. Only wrk's part of bench/ingest.py: ~25 s per run instead of ~60, so more pairs fit a window.

Usage: .venv/bin/python bench/single_cpu.py --base /tmp/base_tree [--rounds 3] [--seconds 8]
       [--database-url postgresql://postgres@127.0.0.1:5432/learnpulse_single_cpu] [--redis-url redis://.../13]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _child(database_url: str, redis_url: str, token: str, seconds: int) -> None:
    """One web tier from the current directory's tree; prints one JSON line."""
    sys.path.insert(0, os.getcwd())
    from bench.cpu_use import cpu_seconds
    from bench.ingest import SECRET, event, run_clients, run_wrk, warm_up
    from bench.web_process import start_web, stop_web

    web, port = start_web(database_url, redis_url, SECRET, "/tmp/learnpulse-bench-single-cpu-web.log", 2)
    url = f"http://127.0.0.1:{port}"
    out: dict = {"tree": os.getcwd(), "start": time.strftime("%H:%M:%S", time.gmtime())}
    try:
        warm_up(url, token, 2000)
        run_clients(url, token, [json.dumps(event(n % 2000, n)).encode() for n in range(400)], 4)
        for kind in ("activity", "unknown"):
            before = cpu_seconds(web.pid)
            result = run_wrk(url, token, 2000, 8, seconds, kind=kind)
            after = cpu_seconds(web.pid)
            out[kind] = {
                "rps": round(result["requests"] / result["seconds"]),
                "p50": result["p50_ms"],
                "p99": result["p99_ms"],
                **{name: round(1000 * (after[name] - before[name]) / result["requests"], 3) for name in before},
            }
    finally:
        stop_web(web)
    out["load"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out), flush=True)


def _prepare(database_url: str, redis_url: str) -> str:
    """A fresh database with this tree's migrations and the service user; its token."""
    sys.path.insert(0, str(ROOT))
    import redis

    from bench.common import fresh_database
    from bench.ingest import prepare

    fresh_database(database_url)
    redis.Redis.from_url(redis_url).flushdb()
    return prepare(database_url, redis_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the other tree (a worktree with a .venv link)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/learnpulse_single_cpu")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--child", nargs=2, metavar=("TOKEN", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # the parent passes a normalized URL; nothing of this tree is imported before the child's
        _child(args.database_url, args.redis_url, args.child[0], int(args.child[1]))
        return
    sys.path.insert(0, str(ROOT))
    from api.config import normalize_database_url

    database_url = normalize_database_url(args.database_url)
    token = _prepare(database_url, args.redis_url)
    runs: dict[str, list[dict]] = {"base": [], "tree": []}
    for round_ in range(args.rounds):
        order = [("base", args.base), ("tree", str(ROOT))]
        for name, tree in order if round_ % 2 == 0 else order[::-1]:
            child = [".venv/bin/python", str(ROOT / "bench" / "single_cpu.py"), "--base", args.base]
            child += [
                "--database-url",
                database_url,
                "--redis-url",
                args.redis_url,
                "--child",
                token,
                str(args.seconds),
            ]
            line = (
                subprocess.run(
                    ["flock", "/tmp/quiet.lock", *child], cwd=tree, capture_output=True, text=True, check=True
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            print(name, line, flush=True)
            runs[name].append(json.loads(line))
    for name, rows in runs.items():
        for kind in ("activity", "unknown"):
            medians = {key: statistics.median(row[kind][key] for row in rows) for key in ("rps", "p99", "web")}
            print(
                f"{name} {kind}: median {medians['rps']:.0f} req/s, p99 {medians['p99']:.1f} ms, web {medians['web']:.3f} ms"
            )


if __name__ == "__main__":
    main()
