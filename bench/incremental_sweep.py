"""Sweeps from learner digests against the old full rescan of the event log, measured in the same run.

Through the real stack: a Celery worker (2 processes) runs the performance and engagement sweeps,
timed end to end (sent -> last shard done), on a database loaded by bench/big_load.py. Phases:
  1. baseline: MONITORING_DIGESTS=false (every shard reads its learners' whole event log): a first
     sweep (opens the alerts) and repeats;
  2. alerts and digests emptied: a first sweep that finds no digest (builds them from the log);
  3. alerts emptied again: a first sweep with digests in place, then repeats (steady state);
  baseline-repeat (instead of 1, on big databases): one full-rescan sweep of each kind after the others.
Then --check-shards shards are evaluated in-process at one instant from digests and from the whole log
(dry runs): the alerts they would raise must be identical.
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
from bench.common import loaded_database_parser, percentile  # noqa: E402
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


TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def cpu_seconds(worker: subprocess.Popen) -> dict[str, float]:
    """CPU used so far by the worker's processes, the PostgreSQL backends serving this database, the Redis
    server and this process (the sender, beat's part): the work a sweep costs, whatever else the shared
    machine runs."""
    from flask import current_app  # noqa: PLC0415

    from models import db  # noqa: PLC0415

    backends = db.session.scalars(
        sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
    ).all()
    db.session.rollback()
    redis_cpu = redis.Redis.from_url(current_app.config["REDIS_URL"]).info("cpu")
    return {
        "worker": sum(_process_cpu(pid) for pid in [worker.pid, *_children(worker.pid)]),
        "postgres": sum(_process_cpu(pid) for pid in backends),
        "redis": redis_cpu["used_cpu_user"] + redis_cpu["used_cpu_sys"],  # the whole server: the bench's own
        "sender": sum(os.times()[:2]),
    }


def timed_sweep(app, sweep: str, worker: subprocess.Popen) -> dict:
    before = cpu_seconds(worker)
    status = run_sweep(app, sweep)
    after = cpu_seconds(worker)
    for part in after:
        status[f"cpu_{part}"] = round(after[part] - before[part], 2)
    status["cpu_seconds"] = round(status["cpu_worker"] + status["cpu_postgres"], 2)
    return status


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
    from services.digests import UPTO_KEY  # noqa: PLC0415

    tables = "alerts, alert_history" + (", learner_digests" if digests else "")
    db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.execute(sa.text("UPDATE learner_standings SET open_alerts = 0, open_alert_rules = ''"))
    db.session.commit()
    client = app.extensions["redis"]
    for key in client.scan_iter("learnpulse:*"):
        if digests or key != UPTO_KEY.encode():  # kept digests stay checked up to where they were
            client.delete(key)


def phase(app, label: str, repeats: int, results: dict, worker: subprocess.Popen) -> None:
    """A first sweep of each kind, then `repeats` more; the figures go to results[(label, sweep)]."""
    for sweep in SWEEPS:
        first = timed_sweep(app, sweep, worker)
        again = [timed_sweep(app, sweep, worker) for _ in range(repeats)]
        results[(label, sweep)] = (first, again)
        times = [(float(s["end_to_end_seconds"]), s["cpu_worker"], s["cpu_postgres"], s["cpu_redis"]) for s in again]
        print(
            f"  {label} {sweep}: first {first['end_to_end_seconds']} s, CPU-s worker {first['cpu_worker']} "
            f"postgres {first['cpu_postgres']} redis {first['cpu_redis']} sender {first['cpu_sender']} "
            f"({first['alerts_created']} raised), "
            f"repeats (s, worker / postgres / redis CPU-s) {times}; load {os.getloadavg()[0]:.2f}",
            flush=True,
        )


def check(shards: int) -> str:
    """Dry runs of the first shards at one instant, from digests and from the log: the same alerts?"""
    from datetime import UTC, datetime  # noqa: PLC0415

    from services.digests import digest_inputs  # noqa: PLC0415
    from services.monitoring import evaluate_rules, learner_ids_between, shard_ranges  # noqa: PLC0415
    from services.sweeps import shard_size  # noqa: PLC0415

    learners = alerts = 0
    for low, high in shard_ranges(shard_size())[:shards]:
        ids, now = learner_ids_between(low, high), datetime.now(UTC)
        for sweep in SWEEPS:
            whole = evaluate_rules(ids, sweep, dry_run=True, now=now).would_raise
            inputs = digest_inputs(ids, now.timestamp())
            cut = evaluate_rules(ids, sweep, dry_run=True, now=now, prepared=inputs).would_raise
            same = sorted(map(str, whole)) == sorted(map(str, cut))
            if not same:
                return f"DIFFERENT in shard {low}-{high} ({sweep})"
            alerts += len(whole)
        learners += len(ids)
    return f"identical ({learners:,} learners, {alerts:,} alerts that would be raised)"


def _row(label: str, sweep: str, first: dict, again: list[dict], floor: tuple[dict, list[dict]] | None) -> str:
    times = [float(s["end_to_end_seconds"]) for s in again]
    cpu = [float(s["cpu_seconds"]) for s in again]
    median = statistics.median(times) if times else float("nan")
    p50, p99 = (percentile(times, 50), percentile(times, 99)) if times else (float("nan"),) * 2
    ratio = ""
    if floor and times and floor[1]:
        base = statistics.median(float(s["end_to_end_seconds"]) for s in floor[1])
        base_cpu = statistics.median(float(s["cpu_seconds"]) for s in floor[1])
        ratio = f" ({base / median:.1f}x faster; CPU {base_cpu / statistics.median(cpu):.1f}x less)"
    parts = " / ".join(
        f"{statistics.median(float(s[f'cpu_{part}']) for s in again):.2f}" if again else "-"
        for part in ("worker", "postgres")
    )
    return (
        f"| {sweep} | {label} | {first['end_to_end_seconds']} s, {first['cpu_seconds']} CPU-s "
        f"({first['alerts_created']} raised) | {median:.2f} s{ratio} | {p50:.2f} / {p99:.2f} s | "
        f"{statistics.median(cpu) if cpu else float('nan'):.2f} ({parts}) | {len(times)} |"
    )


def _arguments() -> argparse.Namespace:
    parser = loaded_database_parser(__doc__)
    parser.add_argument("--repeats", type=int, default=5, help="repeat sweeps with digests")
    parser.add_argument("--baseline-repeats", type=int, default=3, help="repeat sweeps of the full rescan")
    parser.add_argument("--check-shards", type=int, default=2)
    parser.add_argument("--sweeps", default=",".join(SWEEPS), help="which sweeps, in order (1M: one per hold)")
    parser.add_argument(
        "--phases",
        default="baseline,missing,digests",
        help="in order; baseline-repeat: one full-rescan sweep of each kind after the others (alerts kept)",
    )
    return parser.parse_args()


def repeat_only(app, label: str, results: dict, worker: subprocess.Popen) -> None:
    """One sweep of each kind with the alerts kept: only the repeat is timed (no first sweep)."""
    for sweep in SWEEPS:
        status = timed_sweep(app, sweep, worker)
        results[(label, sweep)] = (
            {**status, "end_to_end_seconds": "-", "alerts_created": "-", "cpu_seconds": "-"},
            [status],
        )
        print(f"  {label} {sweep}: {status['end_to_end_seconds']} s, {status['cpu_seconds']} CPU-s")


def run_phases(app, url: str, args: argparse.Namespace) -> dict:
    """Each phase named in --phases with a worker of its own (digests on or off); results by (label, sweep)."""
    phases = {
        "baseline": ("full rescan (baseline)", False, args.baseline_repeats, True),
        "missing": ("digests missing (built by the sweep)", True, 0, True),
        "digests": ("digests", True, args.repeats, False),
        "baseline-repeat": ("full rescan (baseline), repeat only", False, 1, None),
    }
    results: dict = {}
    for name in args.phases.split(","):
        label, digests, repeats, clear_digests = phases[name]
        if clear_digests is not None:
            reset(app, clear_digests)
        worker = start_worker(url, args.redis_url, digests)
        try:
            wait_ready(app)
            if clear_digests is None:  # alerts stay: only the repeat is timed
                repeat_only(app, label, results, worker)
            else:
                phase(app, label, repeats, results, worker)
        finally:
            stop_worker(worker)
    return results


def main() -> None:
    global SWEEPS  # noqa: PLW0603  (every phase and the check read the chosen sweeps)
    args = _arguments()
    SWEEPS = tuple(args.sweeps.split(","))
    url = normalize_database_url(args.database_url)
    redis.Redis.from_url(args.redis_url).ping()
    from api import create_app  # noqa: PLC0415
    from models import Event, User, db  # noqa: PLC0415

    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": args.redis_url})
    with app.app_context():
        learners = db.session.scalar(sa.select(sa.func.count()).where(User.role == "learner"))
        events = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
        print(f"{learners:,} learners, {events:,} events; load {os.getloadavg()}", flush=True)
        results = run_phases(app, url, args)
    with app.app_context():
        print(f"exactness check: {check(args.check_shards)}", flush=True)
    floors = [label for label, _ in results if label.startswith("full")]
    floor = {sweep: results[(floors[0], sweep)] for sweep in SWEEPS} if floors else {}
    print(f"\n{learners:,} learners / {events:,} events; load average after: {os.getloadavg()}")
    print(
        "| sweep | reads | first sweep | repeat, median | repeat p50 / p99 | repeat CPU-s, median (worker / postgres) "
        "| repeats |\n"
        "| --- | --- | --- | --- | --- | --- | --- |"
    )
    for (label, sweep), (first, again) in results.items():
        print(_row(label, sweep, first, again, None if label.startswith("full") else floor.get(sweep)))


if __name__ == "__main__":
    main()
