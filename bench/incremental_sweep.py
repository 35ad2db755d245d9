"""Sweeps from learner digests against the old full rescan of the event log, measured in the same run.

Through the real stack: a Celery worker (2 processes) runs the performance and engagement sweeps,
timed end to end (sent -> last shard done), on a database loaded by bench/big_load.py. Phases:
  1. baseline: MONITORING_DIGESTS=false (every shard reads its learners' whole event log): a first
     sweep (opens the alerts) and repeats;
  2. alerts and digests emptied: a first sweep that finds no digest (builds them from the log);
  3. alerts emptied again: a first sweep with digests in place, then repeats (steady state).
The event log is never modified; alerts, standings and digests are.

Usage: .venv/bin/python bench/incremental_sweep.py --database-url URL --redis-url URL [--repeats N]
       [--baseline-repeats N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import redis
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.config import normalize_database_url  # noqa: E402
from bench.common import percentile  # noqa: E402
from bench.monitoring import SECRET, run_sweep  # noqa: E402

BIN = Path(sys.executable).parent
SWEEPS = ("performance", "engagement")


def start_worker(url: str, redis_url: str, digests: bool) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "MONITORING_DIGESTS": "true" if digests else "false",
    }
    command = [str(BIN / "celery"), "-A", "worker.main:celery_app", "worker", "--concurrency=2", "--loglevel=WARNING"]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def wait_ready(app) -> None:
    """Until the worker answers a ping: its start-up is not part of any sweep's time."""
    deadline = time.monotonic() + 120
    while not app.extensions["celery"].control.ping(timeout=1.0):
        if time.monotonic() > deadline:
            raise SystemExit("the worker did not start")


def stop_worker(process: subprocess.Popen) -> None:
    os.killpg(process.pid, 15)
    process.wait()


def reset(app, digests: bool) -> None:
    """Empty the alerts (and the digests): the next sweep is a first sweep again."""
    from models import db  # noqa: PLC0415

    tables = "alerts, alert_history" + (", learner_digests" if digests else "")
    db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.execute(sa.text("UPDATE learner_standings SET open_alerts = 0, open_alert_rules = ''"))
    db.session.commit()
    client = app.extensions["redis"]
    for key in client.scan_iter("learnpulse:*"):
        client.delete(key)


def phase(app, label: str, repeats: int, results: dict) -> None:
    """A first sweep of each kind, then `repeats` more; the figures go to results[(label, sweep)]."""
    for sweep in SWEEPS:
        first = run_sweep(app, sweep)
        again = [run_sweep(app, sweep) for _ in range(repeats)]
        results[(label, sweep)] = (first, again)
        times = [float(s["end_to_end_seconds"]) for s in again]
        print(
            f"  {label} {sweep}: first {first['end_to_end_seconds']} s "
            f"({first['alerts_created']} raised), repeats {times}",
            flush=True,
        )


def _row(label: str, sweep: str, first: dict, again: list[dict], floor: tuple[dict, list[dict]] | None) -> str:
    times = [float(s["end_to_end_seconds"]) for s in again]
    median = statistics.median(times) if times else float("nan")
    p50, p99 = (percentile(times, 50), percentile(times, 99)) if times else (float("nan"),) * 2
    ratio = ""
    if floor and times and floor[1]:
        base = statistics.median(float(s["end_to_end_seconds"]) for s in floor[1])
        ratio = f" ({base / median:.1f}x faster than the full rescan)"
    return (
        f"| {sweep} | {label} | {first['end_to_end_seconds']} s ({first['alerts_created']} raised) | "
        f"{median:.2f} s{ratio} | {p50:.2f} / {p99:.2f} s | {len(times)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--repeats", type=int, default=5, help="repeat sweeps with digests")
    parser.add_argument("--baseline-repeats", type=int, default=3, help="repeat sweeps of the full rescan")
    args = parser.parse_args()
    url = normalize_database_url(args.database_url)
    redis.Redis.from_url(args.redis_url).ping()
    from api import create_app  # noqa: PLC0415
    from models import Event, User, db  # noqa: PLC0415

    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": args.redis_url})
    results: dict = {}
    with app.app_context():
        learners = db.session.scalar(sa.select(sa.func.count()).where(User.role == "learner"))
        events = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
        print(f"{learners:,} learners, {events:,} events; load {os.getloadavg()}", flush=True)
        for label, digests, repeats, clear_digests in (
            ("full rescan (baseline)", False, args.baseline_repeats, True),
            ("digests missing (built by the sweep)", True, 0, True),
            ("digests", True, args.repeats, False),
        ):
            reset(app, clear_digests)
            worker = start_worker(url, args.redis_url, digests)
            try:
                wait_ready(app)
                phase(app, label, repeats, results)
            finally:
                stop_worker(worker)
    floor = {sweep: results[("full rescan (baseline)", sweep)] for sweep in SWEEPS}
    print(f"\n{learners:,} learners / {events:,} events; load average after: {os.getloadavg()}")
    print(
        "| sweep | reads | first sweep | repeat, median | repeat p50 / p99 | repeats |\n| --- | --- | --- | --- | --- | --- |"
    )
    for (label, sweep), (first, again) in results.items():
        print(_row(label, sweep, first, again, None if label.startswith("full") else floor[sweep]))


if __name__ == "__main__":
    main()
