"""The daily analytics task's parts, timed one by one in one process (what the worker's daily task runs).

On a database loaded by bench/big_load.py (digests built, e.g. by bench/incremental_sweep.py):
  * metric snapshots of every learner, from digests, and (floor) from the event log on --floor-shards shards;
  * cohort snapshots of every section (or --sections of them, scaled up);
  * risk model retraining (--label-share of the enrollments are given an outcome first, so it has data);
  * BKT refit of every skill and the mastery rebuild.

Usage: .venv/bin/python bench/daily.py --database-url URL --redis-url URL [--sections N] [--floor-shards N]
"""

from __future__ import annotations

import argparse
import os
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
    return parser.parse_args()


def time_snapshots(ranges: list, floor_shards: int, snapshot_shards: int) -> float:
    """The floor (snapshots from the event log) on a few shards, then from digests; seconds of the latter."""
    from services.digests import advance_watermark, daily_snapshots  # noqa: PLC0415
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
    """Cohort summaries of the first `limit` sections with learners (0: all), scaled to all of them."""
    from models import Enrollment, Section, db  # noqa: PLC0415
    from services.analytics_data import load_event_arrays  # noqa: PLC0415
    from services.cohorts import compute_summary  # noqa: PLC0415

    sections = db.session.execute(
        sa.select(Section.id, Section.course_id)
        .where(Section.id.in_(sa.select(Enrollment.section_id)))
        .order_by(Section.id)
    ).all()
    sample = sections[:limit] if limit else sections

    def members(section: int) -> list[int]:
        return list(db.session.scalars(sa.select(Enrollment.learner_id).where(Enrollment.section_id == section)))

    timed(
        f"floor: the same sections' events read (the read each summary starts with), {len(sample)} sections",
        lambda: sum(len(load_event_arrays(members(s), [c] if c else None)[0].time) for s, c in sample),
        len(sections) / max(1, len(sample)),
    )
    return timed(
        f"cohort summaries, {len(sample)} of {len(sections)} sections",
        lambda: len([compute_summary(s, c) for s, c in sample]),
        len(sections) / max(1, len(sample)),
    )


def main() -> None:
    args = _arguments()
    from api import create_app  # noqa: PLC0415
    from models import User, db  # noqa: PLC0415
    from services.model_training import fit_and_store_skill_models, train_and_store_risk_model  # noqa: PLC0415
    from services.monitoring import shard_ranges  # noqa: PLC0415
    from services.sweeps import shard_size  # noqa: PLC0415

    url = normalize_database_url(args.database_url)
    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": args.redis_url})
    with app.app_context():
        learners = db.session.scalar(sa.select(sa.func.count()).where(User.role == "learner"))
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
            total += timed("risk model retraining", lambda: train_and_store_risk_model().samples)
        if "bkt" in parts:
            total += timed("BKT refit and mastery rebuild", fit_and_store_skill_models)
        print(f"| daily analytics, total | {total:.1f} s | | load {os.getloadavg()[0]:.1f} |")


if __name__ == "__main__":
    main()
