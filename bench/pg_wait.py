"""CPU per PostgreSQL round trip under gevent: psycopg's own wait (gevent's emulated select.poll) against
api/pg_hub_wait.py's wait on gevent's loop, in alternated child processes patched as gunicorn's gevent workers are.

Usage: .venv/bin/python bench/pg_wait.py [--database-url postgresql://postgres@127.0.0.1:5432/test] [--pairs 3]
Prints, per process, the median over 5 rounds of 3,000 `SELECT $1::int` of CPU and wall microseconds per statement.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATEMENTS, ROUNDS = 3000, 5


def child(database_url: str, hub: bool) -> None:
    """One measured process: patch, optionally install the hub wait, time the round trips."""
    from gevent import monkey

    monkey.patch_all()
    import time

    import psycopg
    from psycopg import waiting

    sys.path.insert(0, str(ROOT))
    from api.pg_hub_wait import use_hub_waits

    if hub:
        use_hub_waits()
    rounds = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        cursor = conn.cursor()
        for _ in range(300):
            cursor.execute("SELECT 1").fetchall()
        for _ in range(ROUNDS):
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(STATEMENTS):
                cursor.execute("SELECT %s::int", (1,)).fetchall()
            rounds.append(
                ((time.process_time() - cpu) * 1e6 / STATEMENTS, (time.perf_counter() - wall) * 1e6 / STATEMENTS)
            )
    print(
        json.dumps(
            {
                "wait": waiting.wait.__name__,
                "cpu_us": statistics.median(r[0] for r in rounds),
                "wall_us": statistics.median(r[1] for r in rounds),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--child", choices=("poll", "hub"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.database_url, args.child == "hub")
        return
    print("| pair | wait | CPU us per statement | wall us per statement |\n| --- | --- | --- | --- |")
    for pair in range(1, args.pairs + 1):
        for mode in ("poll", "hub"):
            command = [sys.executable, __file__, "--database-url", args.database_url, "--child", mode]
            found = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
            print(f"| {pair} | {found['wait']} | {found['cpu_us']:.1f} | {found['wall_us']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
