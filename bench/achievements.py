"""Achievement detection for a whole platform, beside the metrics every evaluation computes anyway.

Generates a synthetic platform (default 100,000 learners, ~10,000,000 events; module completions spread
over 10 modules of one course), then times, in the same run and on the same arrays:
  * analytics.compute_learner_metrics (the baseline: what each evaluation already computes), and
  * analytics.achievements.find_achievements (what awarding achievements adds),
reporting seconds (best of --repeat), how many achievements were found, and the ratio.

Usage: .venv/bin/python bench/achievements.py [--learners N] [--events-per-learner K] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.achievements import ACHIEVEMENT_KINDS, find_achievements  # noqa: E402
from analytics.learner_metrics import KIND_CODES, compute_learner_metrics  # noqa: E402
from analytics.synthetic import generate_cohort  # noqa: E402

MODULES = 10


def best_of(repeat: int, run) -> tuple[float, object]:
    """Fastest wall time of `repeat` runs (the machine is shared: the minimum is the least disturbed)."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--events-per-learner", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cohort = generate_cohort(args.learners, args.events_per_learner, seed=3)
    events = cohort.events
    rng = np.random.default_rng(5)
    module = np.where(events.kind == KIND_CODES["module_completed"], rng.integers(0, MODULES, len(events.kind)), -1)
    course = (np.zeros(MODULES, dtype=np.int64), np.array([MODULES]))
    metrics_s, _ = best_of(args.repeat, lambda: compute_learner_metrics(events, cohort.now))
    found_s, found = best_of(args.repeat, lambda: find_achievements(events, module, *course))
    kinds = Counter(ACHIEVEMENT_KINDS[k] for k in found.kind.tolist())
    print(f"command: {' '.join(sys.argv)}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"learners {args.learners:,}, events {len(events.learner):,}")
    print(f"compute_learner_metrics (baseline): {metrics_s:.3f} s")
    print(f"find_achievements:                  {found_s:.3f} s  ({found_s / metrics_s:.2f} x the baseline)")
    print(f"achievements found: {len(found):,} " + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items())))


if __name__ == "__main__":
    main()
