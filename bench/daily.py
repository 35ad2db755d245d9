"""The daily analytics task's parts, timed one by one in one process (what the worker's daily task runs).

On a database loaded by bench/big_load.py (digests built, e.g. by bench/incremental_sweep.py):
  * metric snapshots of every learner, from digests, and (floor) from the event log on --floor-shards shards;
  * cohort snapshots of every section (or --sections of them, scaled up);
  * risk model retraining (--label-share of the enrollments are given an outcome first, so it has data);
  * BKT refit of every skill and the mastery rebuild.
With --worker: the whole daily task instead, as the beat sends it, through a Celery worker (2 processes)
started from --code-root (default: this checkout; give another checkout to time its code on the same
database), timed from sending to the coordinator's end and to its last snapshot and cohort shard, with the
CPU-seconds of the worker's processes and the PostgreSQL backends serving this database.

Usage: .venv/bin/python bench/daily.py --database-url URL --redis-url URL [--sections N] [--floor-shards N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.config import normalize_database_url  # noqa: E402
from bench.common import loaded_database_parser  # noqa: E402
from bench.monitoring import SECRET  # noqa: E402


def timed(label: str, call, scale: float = 1.0) -> float:
    started = time.perf_counter()
    result = call()
    seconds = (time.perf_counter() - started) * scale
    note = f" (scaled x{scale:g})" if scale != 1.0 else ""
    print(f"| {label} | {seconds:.1f} s{note} | {result} | load {os.getloadavg()[0]:.1f} |", flush=True)
    return seconds


def label_outcomes(share: float) -> int:
    """Give a share of the enrollments an outcome (completed, or failed/dropped for a third), deterministically."""
    from models import db  # noqa: PLC0415

    db.session.execute(sa.text("UPDATE enrollments SET status = 'active' WHERE status <> 'active'"))
    result = db.session.execute(
        sa.text(
            "UPDATE enrollments SET status = CASE WHEN id % 3 = 0 THEN 'failed' ELSE 'completed' END "
            "WHERE (id::bigint * 7919) % 1000 < :cut"
        ),
        {"cut": int(share * 1000)},
    )
    db.session.commit()
    return result.rowcount


def _arguments() -> argparse.Namespace:
    parser = loaded_database_parser(__doc__)
    parser.add_argument("--sections", type=int, default=50, help="sections timed for the cohort snapshots (0: all)")
    parser.add_argument("--floor-shards", type=int, default=2, help="shards timed from the event log (the floor)")
    parser.add_argument("--label-share", type=float, default=0.1)
    parser.add_argument("--snapshot-shards", type=int, default=0, help="shards timed from digests (0: all)")
    parser.add_argument("--parts", default="snapshots,cohorts,risk,bkt", help="which parts to time")
    parser.add_argument("--worker", action="store_true", help="the whole daily task through a Celery worker")
    parser.add_argument("--worker-runs", type=int, default=1)
    parser.add_argument("--code-root", default=str(Path(__file__).resolve().parent.parent), help="the worker's code")
    return parser.parse_args()


def time_snapshots(ranges: list, floor_shards: int, snapshot_shards: int) -> float:
    """The floor (snapshots from the event log) on a few shards, then from digests; seconds of the latter."""
    from services.daily_digests import daily_snapshots  # noqa: PLC0415
    from services.digests import advance_watermark  # noqa: PLC0415
    from services.monitoring import learner_ids_between, store_snapshots  # noqa: PLC0415

    floor = ranges[:floor_shards]
    mine = ranges[:snapshot_shards] if snapshot_shards else ranges
    timed(
        f"floor: snapshots from the event log, {len(floor)} shards",
        lambda: sum(store_snapshots(learner_ids_between(lo, hi), "daily") for lo, hi in floor),
        len(ranges) / max(1, len(floor)),
    )
    since = advance_watermark()
    return timed(
        f"snapshots from digests, {len(mine)} of {len(ranges)} shards",
        lambda: sum(daily_snapshots(learner_ids_between(lo, hi), since) for lo, hi in mine),
        len(ranges) / len(mine),
    )


def time_cohorts(limit: int) -> float:
    """Cohort snapshots (figures, stored state, snapshot row) of the first `limit` sections with learners
    (0: all), in the daily task's shards, scaled to all of them."""
    from models import Enrollment, db  # noqa: PLC0415
    from services.analytics_data import load_event_arrays  # noqa: PLC0415
    from services.cohorts import COHORT_SHARD_SECTIONS, section_shards, snapshot_sections  # noqa: PLC0415

    sections = [pair for shard in section_shards(COHORT_SHARD_SECTIONS) for pair in shard]
    sample = sections[:limit] if limit else sections
    shards = [sample[i : i + COHORT_SHARD_SECTIONS] for i in range(0, len(sample), COHORT_SHARD_SECTIONS)]

    def members(section: int) -> list[int]:
        return list(db.session.scalars(sa.select(Enrollment.learner_id).where(Enrollment.section_id == section)))

    timed(
        f"floor: the same sections' events read (the read each summary starts with), {len(sample)} sections",
        lambda: sum(len(load_event_arrays(members(s), [c] if c else None)[0].time) for s, c in sample),
        len(sections) / max(1, len(sample)),
    )
    return timed(
        f"cohort snapshots, {len(sample)} of {len(sections)} sections, {len(shards)} shards",
        lambda: sum(snapshot_sections(shard) for shard in shards),
        len(sections) / max(1, len(sample)),
    )


def through_worker(app, url: str, args: argparse.Namespace) -> None:
    """The daily task sent as the beat sends it; waits for its coordinator and every shard it fanned out."""
    from bench.incremental_sweep import cpu_seconds, stop_worker, wait_ready  # noqa: PLC0415
    from services.job_runs import STATUS_KEY  # noqa: PLC0415

    client = app.extensions["redis"]
    root = Path(args.code_root).resolve()
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis_url, "SECRET_KEY": SECRET}
    command = [str(Path(sys.executable).parent / "celery"), "-A", "worker.main:celery_app", "worker"]
    worker = subprocess.Popen(
        [*command, "--concurrency=2", "--loglevel=WARNING"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(f"/tmp/daily-worker-{os.getpid()}.log", "w"),  # noqa: SIM115
        start_new_session=True,
    )
    try:
        wait_ready(app)
        for run in range(args.worker_runs):
            label_outcomes(args.label_share)
            client.delete(STATUS_KEY.format("daily"), *client.keys("learnpulse:lock:sweep:daily:*"))
            client.delete(*client.keys("learnpulse:done:shard:daily*") or ["-"])
            load, before, started = os.getloadavg()[0], cpu_seconds(worker), time.perf_counter()
            app.extensions["celery"].send_task("learnpulse.analytics.daily")
            report = _wait_daily(client, started)
            after = cpu_seconds(worker)
            cpu = {part: after[part] - before[part] for part in ("worker", "postgres")}
            print(
                f"| daily task through the worker, run {run + 1} ({root.name}) | {report} | "
                f"{sum(cpu.values()):.1f} CPU-s (worker {cpu['worker']:.1f}, PostgreSQL {cpu['postgres']:.1f}) | "
                f"load {load:.1f} -> {os.getloadavg()[0]:.1f} |",
                flush=True,
            )
    finally:
        stop_worker(worker)


SHARD_PARTS = {  # done-key part -> the daily run's status field counting its shards (absent: none fanned out)
    "daily-skills": "skill_shards",
    "daily": "snapshot_shards",
    "daily-cohorts": "cohort_shards",
}


def _wait_daily(client, started: float) -> str:
    """Poll until the coordinator finished and every shard it reported is done; when each was."""
    from services.job_runs import STATUS_KEY  # noqa: PLC0415

    seen: dict[str, float] = {}
    shown = 0.0
    while True:
        status = {k.decode(): v.decode() for k, v in client.hgetall(STATUS_KEY.format("daily")).items()}
        if status.get("outcome") == "failed":
            raise SystemExit(f"daily task failed: {status.get('error')}")
        now = time.perf_counter() - started
        if status.get("finished_at"):
            seen.setdefault("coordinator", now)
            wanted = {part: int(status.get(field) or 0) for part, field in SHARD_PARTS.items()}
            for part, count in wanted.items():
                if len(client.keys(f"learnpulse:done:shard:{part}:*")) >= count:
                    seen.setdefault(part, now)
            if len(seen) == 1 + len(wanted):
                break
        if now - shown >= 60:  # progress, for runs that take many minutes
            shown = now
            done = {part: len(client.keys(f"learnpulse:done:shard:{part}:*")) for part in SHARD_PARTS}
            print(f"  {now:.0f} s: shards done {done}, coordinator {status.get('outcome')}", flush=True)
        time.sleep(0.5)
    parts = "; ".join(f"{part} shards {wanted[part]} done at {seen[part]:.1f} s" for part in SHARD_PARTS)
    return (
        f"coordinator (fan-outs, risk; cohorts and BKT if not fanned out) {seen['coordinator']:.1f} s; "
        f"{parts}; total {max(seen.values()):.1f} s"
    )


def main() -> None:
    args = _arguments()
    from api import create_app  # noqa: PLC0415
    from models import User, db  # noqa: PLC0415
    from services.daily_digests import digest_features  # noqa: PLC0415
    from services.model_training import train_and_store_risk_model  # noqa: PLC0415
    from services.monitoring import shard_ranges  # noqa: PLC0415
    from services.skill_refit import fit_and_store_skill_models  # noqa: PLC0415
    from services.sweeps import shard_size  # noqa: PLC0415

    url = normalize_database_url(args.database_url)
    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": args.redis_url})
    with app.app_context():
        learners = db.session.scalar(sa.select(sa.func.count()).where(User.role == "learner"))
        if args.worker:
            through_worker(app, url, args)
            return
        ranges = shard_ranges(shard_size())
        print(f"{learners:,} learners, {len(ranges)} shards; load {os.getloadavg()}")
        print("| part | time | result | load (1 min) |\n| --- | --- | --- | --- |")
        parts = args.parts.split(",")
        total = 0.0
        if "snapshots" in parts:
            total += time_snapshots(ranges, args.floor_shards, args.snapshot_shards)
        if "cohorts" in parts:
            total += time_cohorts(args.sections)
        if "risk" in parts:
            timed("labelling outcomes (set-up, not counted)", lambda: label_outcomes(args.label_share))
            total += timed(
                "risk model retraining (from the labelled learners' digests, as the daily task does)",
                lambda: train_and_store_risk_model(features_of=digest_features).samples,
            )
        if "bkt" in parts:
            total += timed("BKT refit and mastery rebuild", fit_and_store_skill_models)
        print(f"| daily analytics, total | {total:.1f} s | | load {os.getloadavg()[0]:.1f} |")


if __name__ == "__main__":
    main()
