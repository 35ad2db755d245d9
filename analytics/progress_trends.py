"""Trend views of ONE learner's events for the progress API: daily series, moving averages,
score change between windows, study sessions and content mix.

Input: the learner's engagement events as arrays sorted by time (epoch seconds, UTC), with
kind codes of analytics.learner_metrics.KIND_CODES and percent (NaN except for assessments).
Days are UTC days; the last day of every series is today.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics.grouping import SECONDS_PER_DAY

ACTIVITY, MODULE_COMPLETED, ASSESSMENT = 0, 1, 2
CONTENT_KINDS = {"activity": ACTIVITY, "module_completed": MODULE_COMPLETED, "assessment": ASSESSMENT}
SESSION_GAP_SECONDS = 30 * 60  # a pause longer than this starts a new study session


@dataclass(frozen=True)
class DailySeries:
    first_day: float  # epoch seconds of the first day's midnight
    events: np.ndarray  # engagement events per day
    assessments: np.ndarray
    modules: np.ndarray  # module completions per day
    average_score: np.ndarray  # mean assessment percent per day, NaN on days without one


def daily_series(times: np.ndarray, kind: np.ndarray, percent: np.ndarray, now: float, days: int) -> DailySeries:
    """Per-day counts and mean score over the last `days` days (future events ignored)."""
    first = (np.floor(now / SECONDS_PER_DAY) - days + 1) * SECONDS_PER_DAY
    times = np.asarray(times, dtype=float)
    inside = (times >= first) & (times < first + days * SECONDS_PER_DAY)
    day = ((times[inside] - first) // SECONDS_PER_DAY).astype(np.int64)
    k, p = np.asarray(kind)[inside], np.asarray(percent, dtype=float)[inside]
    assessed = k == ASSESSMENT

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(day[mask], minlength=days)

    totals = np.bincount(day[assessed], weights=p[assessed], minlength=days)
    n = count(assessed)
    with np.errstate(invalid="ignore", divide="ignore"):
        average = np.where(n > 0, totals / np.maximum(n, 1), np.nan)
    return DailySeries(first, count(np.ones(len(day), dtype=bool)), n, count(k == MODULE_COMPLETED), average)


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over the last `window` entries, skipping NaN; NaN where the window holds none."""
    values = np.asarray(values, dtype=float)
    present = ~np.isnan(values)
    sums = np.cumsum(np.r_[0.0, np.where(present, values, 0.0)])
    counts = np.cumsum(np.r_[0, present.astype(np.int64)])
    end = np.arange(1, len(values) + 1)
    start = np.maximum(end - window, 0)
    n = counts[end] - counts[start]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (sums[end] - sums[start]) / np.maximum(n, 1), np.nan)


@dataclass(frozen=True)
class ScoreChange:
    recent: float  # mean percent in the last window, NaN without scores
    previous: float  # mean percent in the window before it
    change: float  # recent - previous (points), NaN unless both exist


def score_change(times: np.ndarray, percent: np.ndarray, now: float, window_days: float) -> ScoreChange:
    """Mean score of the last `window_days` against the `window_days` before them."""
    times, percent = np.asarray(times, dtype=float), np.asarray(percent, dtype=float)
    scored = ~np.isnan(percent)
    age = (now - times) / SECONDS_PER_DAY
    recent = scored & (age >= 0) & (age < window_days)
    previous = scored & (age >= window_days) & (age < 2 * window_days)
    r = float(percent[recent].mean()) if recent.any() else float("nan")
    p = float(percent[previous].mean()) if previous.any() else float("nan")
    return ScoreChange(r, p, r - p)


@dataclass(frozen=True)
class Sessions:
    count: int
    median_minutes: float  # NaN without sessions
    mean_minutes: float
    per_week: float


def study_sessions(times: np.ndarray, span_days: float, durations: np.ndarray | None = None) -> Sessions:
    """Split events into sessions at pauses over 30 minutes; a session lasts from its first to its last
    event, or the reported durations of its events when they are longer."""
    times = np.sort(np.asarray(times, dtype=float))
    if len(times) == 0:
        return Sessions(0, float("nan"), float("nan"), 0.0)
    starts = np.r_[True, np.diff(times) > SESSION_GAP_SECONDS]
    session = np.cumsum(starts) - 1
    first = times[starts]
    last = np.maximum.reduceat(times, np.flatnonzero(starts))
    length = last - first
    if durations is not None:
        reported = np.bincount(session, weights=np.nan_to_num(np.asarray(durations, dtype=float)))
        length = np.maximum(length, reported)
    minutes = length / 60.0
    weeks = max(span_days / 7.0, 1.0)
    return Sessions(int(len(first)), float(np.median(minutes)), float(minutes.mean()), len(first) / weeks)


def content_mix(kind: np.ndarray) -> dict[str, float]:
    """Share of each kind of engagement event (0..1); zeros without events."""
    kind = np.asarray(kind)
    total = len(kind)
    return {name: (float((kind == code).sum()) / total if total else 0.0) for name, code in CONTENT_KINDS.items()}


def volatility(percent: np.ndarray) -> float:
    """Standard deviation of the scores (points); NaN with fewer than two."""
    values = np.asarray(percent, dtype=float)
    values = values[~np.isnan(values)]
    return float(values.std(ddof=1)) if len(values) >= 2 else float("nan")
