"""Calibrate the score interval's contamination (analytics.change_point.EPSILON) on a reference population.

The robust interval holds *at least* its level under every prior within epsilon of the stated one; a fixed
epsilon says nothing about how much it over-covers. Here epsilon is the value at which the interval covers its
stated level on average over a reference population of learners whose trend may change once, at any time the
scores could show it. The population is deliberately not bench/archetypes.py (no archetypes, no bench seeds):

- 6-16 scores, gaps Gamma(4) around a mean gap of 1-4 days (uniform), `now` within one mean gap after the last;
- level 35-90 points (uniform), slope N(0, 0.5^2) points a day, noise sd 2-8 points (uniform);
- half the learners change slope by d ~ N(0, 2^2) points a day at a time uniform between the first and the last
  score (a change after the last score is in no data and in no model); scores clipped to 0..100;
- the next score 7, 14 and 21 days after `now` (a third each), scored as bench.scoring.score_chance does.

Only learners on the bend path count (forecast_recent_scores's model average; where the straight line leaves
0..100 the bounded logit fit is used and epsilon plays no part). Coverage is computed on a grid of epsilon and
the crossing of the level found by linear interpolation between grid points (coverage rises with epsilon).

Usage: .venv/bin/python bench/contamination_calibration.py [--per-horizon 4000] [--seeds 801,802] [--level 0.9]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.forecast import forecast_recent_scores  # noqa: E402
from analytics.grouping import SECONDS_PER_DAY, segments  # noqa: E402
from bench.scoring import score_chance, wilson_interval  # noqa: E402

NOW = 1_780_000_000.0
WINDOW = 8  # services.reports.FORECAST_WINDOW
HORIZONS = (7.0, 14.0, 21.0)
GRID = (0.0, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15)
MAX_SCORES = 16


def reference_learners(n: int, rng: np.random.Generator):
    """(learner, times, scores, true mean path, now in days, noise sd) for n reference learners (module doc)."""
    m = rng.integers(6, MAX_SCORES + 1, n)
    gap = rng.uniform(1, 4, n)
    gaps = gap[:, None] * rng.gamma(4.0, 0.25, (n, MAX_SCORES))
    t = np.cumsum(gaps, axis=1) - gaps[:, :1]  # days from the first score
    used = np.arange(MAX_SCORES)[None, :] < m[:, None]
    last = t[np.arange(n), m - 1]
    now = last + rng.uniform(0, 1, n) * gap
    sd = rng.uniform(2, 8, n)
    level, slope = rng.uniform(35, 90, n), rng.normal(0, 0.5, n)
    change = np.where(rng.random(n) < 0.5, rng.normal(0, 2.0, n), 0.0)
    at = rng.uniform(0, 1, n) * last

    def mean(x: np.ndarray) -> np.ndarray:
        return level[:, None] + slope[:, None] * x + change[:, None] * np.maximum(x - at[:, None], 0)

    scores = np.clip(mean(t) + rng.normal(0, 1, t.shape) * sd[:, None], 0, 100)
    learner = np.repeat(np.arange(n), MAX_SCORES)[used.ravel()]
    times = (NOW - (now[:, None] - t) * SECONDS_PER_DAY).ravel()[used.ravel()]
    return learner, times, scores.ravel()[used.ravel()], mean, now, sd


def coverage_by_epsilon(
    per_horizon: int, seed: int, level: float, grid=GRID
) -> tuple[dict[float, np.ndarray], np.ndarray]:
    """P(next score inside) per bend-path learner for every epsilon in grid; and each learner's P(changed)."""
    rng = np.random.default_rng(seed)
    chances: dict[float, list[np.ndarray]] = {e: [] for e in grid}
    changed = []
    for horizon in HORIZONS:
        learner, times, scores, mean, now, sd = reference_learners(per_horizon, rng)
        seg = segments(learner, per_horizon, times)
        truth = mean(now[:, None] + horizon)[:, 0]
        for epsilon in grid:
            forecast = forecast_recent_scores(seg, times, scores, NOW, WINDOW, horizon, level, epsilon)
            bend_path = ~forecast.bounded
            chances[epsilon].append(score_chance(forecast.low, forecast.high, truth, sd)[bend_path])
        changed.append(forecast.probability_changed[bend_path])
    return {e: np.concatenate(v) for e, v in chances.items()}, np.concatenate(changed)


def crossing(grid, coverage, level: float) -> float:
    """The epsilon at which coverage (one value per grid point, increasing) reaches level, interpolated."""
    values = np.asarray(coverage, dtype=float)
    if values[0] >= level:
        return float(grid[0])
    above = np.nonzero(values >= level)[0]
    if not len(above):
        return float("nan")
    k = above[0]
    return float(grid[k - 1] + (level - values[k - 1]) / (values[k] - values[k - 1]) * (grid[k] - grid[k - 1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-horizon", type=int, default=4000)
    parser.add_argument("--seeds", default="801,802")
    parser.add_argument("--level", type=float, default=0.9)
    args = parser.parse_args()
    pooled: dict[float, list[np.ndarray]] = {e: [] for e in GRID}
    for seed in (int(s) for s in args.seeds.split(",")):
        chances, _ = coverage_by_epsilon(args.per_horizon, seed, args.level)
        cells = []
        for e in GRID:
            pooled[e].append(chances[e])
            low, high = wilson_interval(float(chances[e].sum()), len(chances[e]))
            cells.append(f"{e}: {100 * chances[e].mean():.2f} ({100 * low:.1f}-{100 * high:.1f})")
        epsilon = crossing(GRID, [chances[e].mean() for e in GRID], args.level)
        print(f"seed {seed}, {len(chances[0.0])} bend-path learners: " + "; ".join(cells) + f" -> {epsilon:.3f}")
    joined = {e: np.concatenate(v) for e, v in pooled.items()}
    epsilon = crossing(GRID, [joined[e].mean() for e in GRID], args.level)
    print(f"pooled ({len(joined[0.0])} learners), level {args.level}: epsilon {epsilon:.3f}")


if __name__ == "__main__":
    main()
