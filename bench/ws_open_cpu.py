"""Web CPU of whole /ws/dashboard/ opens (upgrade to dashboard_initial_data and close), per role, for trees alternated.

Each round runs, per tree, a child process in that tree's directory: it starts that tree's gunicorn with ONE gevent
worker (bench.web_process.start_web, as bench/reads.py does), warms every role's open up, then opens each role's
dashboard `--opens` times one after another from one client and prints the worker's CPU (user + system) per open and
the wall time per open, and the CPU of the PostgreSQL backends serving the bench's database (local; other databases'
backends are not counted). Trees alternate round by round, so drift on a shared machine hits both alike; the medians
over rounds are printed. The beat's presence check runs once first, as bench/reads.py runs it. Sequential opens cost
the worker more CPU than 8 concurrent clients do (every wait is a real sleep of the hub), so compare trees with
this, and read issue 15's figures from bench/reads.py. Built by `bench/reads.py --build-only` (its learner
bench-l0-7, educator and admin).

    .venv/bin/python bench/ws_open_cpu.py --database-url postgresql://postgres@127.0.0.1:5432/reads_db \\
        --redis-url redis://127.0.0.1:6392/2 --trees /tmp/base,/work/wt-me [--rounds 4] [--opens 300]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

SUBJECTS = {"learner": "bench-l0-7", "educator": "bench-educator", "admin": "bench-admin"}
WARM_OPENS = 30


def _opener(port: int, token: str):
    """One open: connect, read until dashboard_initial_data, close."""
    from websockets.sync.client import connect

    url = f"ws://127.0.0.1:{port}/ws/dashboard/?token={token}"

    def once() -> None:
        with connect(url, max_size=None) as ws:
            while json.loads(ws.recv())["type"] != "dashboard_initial_data":
                pass

    return once


def _database_backends(database_url: str) -> set[int]:
    """The PostgreSQL backends connected to the bench's database (other sessions' databases are not counted)."""
    import psycopg  # noqa: PLC0415
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in rows}


def _cpu(pids: set[int]) -> float:
    """User + system CPU seconds of these local processes (0 for one that has gone)."""
    import psutil  # noqa: PLC0415

    total = 0.0
    for pid in pids:
        try:
            total += sum(psutil.Process(pid).cpu_times()[:2])
        except psutil.NoSuchProcess:
            continue
    return total


def child(database_url: str, redis_url: str, roles: list[str], opens: int) -> None:
    """Run in the tree's own directory: print {role: [web CPU ms per open, wall ms per open]} as JSON."""
    sys.path.insert(0, os.getcwd())
    from api.auth.tokens import issue_token
    from bench.school_seed import SECRET
    from bench.web_process import start_web, stop_web

    web, port = start_web(database_url, redis_url, SECRET, "/tmp/ws_open_cpu_web.log", 1)
    worker = web.children()[0]
    try:
        openers = {role: _opener(port, issue_token(SECRET, SUBJECTS[role], role, 7200)[0]) for role in roles}
        for once in openers.values():
            for _ in range(WARM_OPENS):
                once()
        out = {}
        for role, once in openers.items():
            backends = _database_backends(database_url)
            cpu, wall, pg = sum(worker.cpu_times()[:2]), time.perf_counter(), _cpu(backends)
            for _ in range(opens):
                once()
            backends |= _database_backends(database_url)  # and any the pool opened meanwhile (counted whole)
            out[role] = [
                (sum(worker.cpu_times()[:2]) - cpu) * 1000 / opens,
                (time.perf_counter() - wall) * 1000 / opens,
                (_cpu(backends) - pg) * 1000 / opens,
            ]
        print(json.dumps(out))
    finally:
        stop_web(web)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--trees", required=True, help="comma-separated tree directories, e.g. base,new")
    parser.add_argument("--roles", default="learner,educator,admin")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--opens", type=int, default=300)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    roles = args.roles.split(",")
    if args.child:
        child(args.database_url, args.redis_url, roles, args.opens)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's bench package
    from api.config import normalize_database_url  # noqa: PLC0415
    from bench.common import alternate_trees  # noqa: PLC0415
    from bench.reads import presence_checked  # noqa: PLC0415

    checked = presence_checked(normalize_database_url(args.database_url), args.redis_url)
    print(f"presence check (this tree's): {checked}", flush=True)
    trees = args.trees.split(",")
    child_args = ["--database-url", args.database_url, "--redis-url", args.redis_url, "--roles", args.roles]
    figures = alternate_trees(
        trees, args.rounds, str(Path(__file__).resolve()), [*child_args, "--opens", str(args.opens)]
    )
    for tree in trees:
        for role in roles:
            cpu = [f[role][0] for f in figures[tree]]
            wall = [f[role][1] for f in figures[tree]]
            pg = [f[role][2] for f in figures[tree]]
            print(
                f"{tree} {role}: web CPU per open {statistics.median(cpu):.2f} ms ({min(cpu):.2f}-{max(cpu):.2f}), "
                f"PostgreSQL CPU {statistics.median(pg):.2f} ms ({min(pg):.2f}-{max(pg):.2f}), "
                f"wall {statistics.median(wall):.2f} ms"
            )


if __name__ == "__main__":
    main()
