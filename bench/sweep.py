"""Vectorized sweep: every per-learner metric, rule input and risk score for a whole platform.

Generates a synthetic platform (default 100,000 learners, ~10,000,000 events), then times
  * the vectorized computation (analytics.compute_learner_metrics and the risk scores), and
  * the same metrics computed learner by learner in plain Python/numpy/scipy (on a sample, scaled up),
reporting seconds, peak memory and the speed-up measured in the same run.

Usage: .venv/bin/python bench/sweep.py [--learners N] [--events-per-learner K] [--sample S]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.learner_metrics import KIND_CODES, compute_learner_metrics  # noqa: E402
from analytics.risk import FEATURES, RiskModel, score_risk  # noqa: E402
from analytics.synthetic import generate_cohort  # noqa: E402

DAY = 86400.0


def vectorized(cohort) -> None:
    """What the periodic sweep computes for every learner: all metrics (the rules' inputs) and risk."""
    metrics = compute_learner_metrics(cohort.events, cohort.now)
    score_risk(MODEL, metrics.features(MODEL.features))


# A linear model over FEATURES (what a trained model scores), so the per-learner loop computes the same thing.
MODEL = RiskModel(
    "trained", FEATURES, np.zeros(len(FEATURES)), np.ones(len(FEATURES)), np.full(len(FEATURES), 0.01), -1.6
)


def one_learner(time_: np.ndarray, kind: np.ndarray, percent: np.ndarray, now: float) -> dict:
    """The same metrics and risk score for one learner, written the straightforward way."""
    out: dict = {"average": np.nan, "recent": np.nan, "slope": np.nan, "z": np.nan}
    out.update(_score_metrics(time_, kind, percent))
    out.update(_activity_metrics(time_, kind, now))
    out["risk"] = _risk(out)
    return out


def _score_metrics(time_: np.ndarray, kind: np.ndarray, percent: np.ndarray) -> dict:
    """Averages, spread, trend and the recent-vs-history z score of one learner's assessments."""
    out: dict = {}
    scores = percent[kind == KIND_CODES["assessment"]]
    score_times = time_[kind == KIND_CODES["assessment"]]
    if len(scores):
        out.update(average=scores.mean(), recent=scores[-5:].mean(), best=scores.max(), worst=scores.min())
    if len(scores) >= 2:
        out["volatility"] = scores.std(ddof=1)
    if len(scores) >= 3:
        per_assessment = stats.linregress(np.arange(len(scores)), scores)
        out.update(slope=per_assessment.slope, p=per_assessment.pvalue)
        if np.ptp(score_times) > 0:
            out["slope_per_day"] = stats.linregress((score_times - score_times[0]) / DAY, scores).slope
    if len(scores) >= 6:
        history, recent = scores[:-3], scores[-3:]
        out["z"] = (recent.mean() - history.mean()) / max(history.std(ddof=1), 5.0)
    return out


def _streaks(unique: list[int], today: int) -> tuple[int, int]:
    """(current streak, longest streak) of consecutive active days, from the sorted distinct days."""
    longest = run = 0
    for i, day in enumerate(unique):
        run = run + 1 if i and day - unique[i - 1] == 1 else 1
        longest = max(longest, run)
    return (run if unique and unique[-1] >= today - 1 else 0), longest


def _activity_metrics(time_: np.ndarray, kind: np.ndarray, now: float) -> dict:
    """Streaks, consistency, activity and module rates, recency and the engagement score of one learner."""
    out: dict = {}
    active = time_[np.isin(kind, (0, 1, 2))]
    today = int(now // DAY)
    unique = sorted(set(np.floor(active / DAY).astype(int).tolist()))
    out["streak"], out["longest"] = _streaks(unique, today)
    recent_days = [d for d in unique if today - 7 < d <= today]
    out["consistency"] = len(recent_days) / 7
    gaps = np.diff(recent_days)
    out["regularity"] = max(0.0, 1 - gaps.std() / gaps.mean()) if len(gaps) >= 2 else 0.0
    in_window = active[((now - active) < 28 * DAY) & (active <= now)]
    out["activities_per_day"] = len(in_window) / 28
    norm = np.sum(np.exp2(-(np.arange(28) + 0.5) / 7))
    out["weighted"] = np.sum(np.exp2(-(now - in_window) / DAY / 7)) / norm
    modules = time_[kind == KIND_CODES["module_completed"]]
    recent_modules = modules[((now - modules) < 28 * DAY) & (modules <= now)]
    out["modules_per_week"] = len(recent_modules) / 4
    out["modules_weighted"] = 7 * np.sum(np.exp2(-(now - recent_modules) / DAY / 7)) / norm
    out["days_since_activity"] = (now - active[-1]) / DAY if len(active) else np.nan
    progress = time_[np.isin(kind, (1, 2))]
    out["days_since_progress"] = (now - progress[-1]) / DAY if len(progress) else np.nan
    share28 = len({d for d in unique if today - 28 < d <= today}) / 28
    recency = np.exp(-out["days_since_activity"] / 7) if len(active) else 0.0
    out["engagement"] = (
        40 * min(1, out["activities_per_day"] / 2) + 30 * share28 + 20 * recency + 10 * min(1, out["modules_per_week"])
    )
    return out


def _risk(out: dict) -> float:
    """MODEL's risk probability from the learner's features (missing ones at the model's mean)."""
    features = np.array(
        [
            out["average"],
            out["recent"],
            out["slope"],
            out["z"],
            out["activities_per_day"],
            out["consistency"],
            out["days_since_activity"],
            out["days_since_progress"],
            out["modules_per_week"],
            np.nan,
            out["engagement"],
        ]
    )
    assert len(features) == len(FEATURES)
    features = np.where(np.isnan(features), MODEL.mean, features)
    logit = MODEL.intercept + float(np.dot((features - MODEL.mean) / MODEL.scale, MODEL.coef))
    return 1 / (1 + np.exp(-logit))


def looped(cohort, sample: np.ndarray) -> None:
    events = cohort.events
    starts = np.searchsorted(events.learner, sample)
    ends = np.searchsorted(events.learner, sample, side="right")
    for start, end in zip(starts, ends):
        one_learner(events.time[start:end], events.kind[start:end], events.percent[start:end], cohort.now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--events-per-learner", type=float, default=100.0)
    parser.add_argument("--sample", type=int, default=2000, help="learners timed in the per-learner loop")
    parser.add_argument("--repeat", type=int, default=3, help="vectorized runs; the median is reported")
    args = parser.parse_args()

    print(f"[1/3] generating {args.learners:,} learners x ~{args.events_per_learner:g} events ...", flush=True)
    started = time.perf_counter()
    cohort = generate_cohort(args.learners, args.events_per_learner, seed=42)
    n_events = len(cohort.events.learner)
    print(f"      {n_events:,} events in {time.perf_counter() - started:.1f} s", flush=True)

    print(f"[2/3] vectorized sweep, {args.repeat} timed runs and one traced for memory ...", flush=True)
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        vectorized(cohort)
        timings.append(time.perf_counter() - started)
    tracemalloc.start()  # a separate run: tracing allocations slows numpy down a little
    vectorized(cohort)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    vector_seconds = float(np.median(timings))

    sample = np.random.default_rng(0).choice(args.learners, size=min(args.sample, args.learners), replace=False)
    sample.sort()
    print(f"[3/3] per-learner Python loop on {len(sample):,} learners ...", flush=True)
    started = time.perf_counter()
    looped(cohort, sample)
    loop_seconds = (time.perf_counter() - started) * args.learners / len(sample)

    print("\n| measure | figure |\n| --- | --- |")
    print(f"| learners / events | {args.learners:,} / {n_events:,} |")
    print(
        f"| vectorized sweep (median of {args.repeat}) | {vector_seconds:.2f} s (runs: {', '.join(f'{t:.2f}' for t in timings)}) |"
    )
    print(f"| peak memory allocated during the sweep (tracemalloc) | {peak / 2**20:,.0f} MiB |")
    print(
        f"| process max RSS, including the generated data | {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB |"
    )
    print(f"| per-learner loop, scaled from {len(sample):,} learners | {loop_seconds:,.0f} s |")
    print(f"| speed-up | {loop_seconds / vector_seconds:,.0f}x |")


if __name__ == "__main__":
    main()
