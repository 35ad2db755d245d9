"""Activity metrics per learner: daily/weekly counts, streaks, consistency, velocity, engagement.

Input: the learner's engagement events (activity, module completions, assessments) sorted by
(learner, time), times in UTC epoch seconds; `now` is the evaluation instant. Days are UTC days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics.grouping import SECONDS_PER_DAY, Segments, take_where

# Engagement score weights and targets (documented in compute_engagement).
ENGAGEMENT_WEIGHTS = {"frequency": 40.0, "regularity": 30.0, "recency": 20.0, "progress": 10.0}
TARGET_ACTIVITIES_PER_DAY = 2.0
TARGET_MODULES_PER_WEEK = 1.0
RECENCY_DAYS = 7.0


def day_numbers(times: np.ndarray) -> np.ndarray:
    """UTC day number of each instant (days since 1970-01-01); times are non-negative epoch seconds."""
    return (np.asarray(times, dtype=float) * (1.0 / SECONDS_PER_DAY)).astype(np.int64)  # truncation = floor here


def daily_counts(seg: Segments, times: np.ndarray, now: float, window_days: int) -> np.ndarray:
    """(n_learners, window_days) event counts; the last column is today, future events are ignored."""
    first_day = int(now // SECONDS_PER_DAY) - window_days + 1
    times = np.asarray(times, dtype=float)
    inside = (times >= first_day * SECONDS_PER_DAY) & (times < (first_day + window_days) * SECONDS_PER_DAY)
    learner, times = take_where(inside, seg.learner, times)
    flat = learner * window_days + (day_numbers(times) - first_day)
    return np.bincount(flat, minlength=seg.n_learners * window_days).reshape(seg.n_learners, window_days)


def weekly_counts(daily: np.ndarray) -> np.ndarray:
    """Sum whole weeks of a daily matrix, oldest first; leftover oldest days are dropped."""
    weeks = daily.shape[1] // 7
    return daily[:, daily.shape[1] - 7 * weeks :].reshape(daily.shape[0], weeks, 7).sum(axis=2)


@dataclass(frozen=True)
class Streaks:
    """Runs of consecutive active UTC days."""

    current: np.ndarray  # days in the run that includes today or yesterday, else 0
    longest: np.ndarray  # longest run ever
    active_days: np.ndarray  # distinct active days ever


def compute_streaks(seg: Segments, times: np.ndarray, now: float) -> Streaks:
    """Current and longest streak of active days, from sorted events, with no loop over learners."""
    days = day_numbers(times)
    if len(days) == 0:
        zero = np.zeros(seg.n_learners, dtype=np.int64)
        return Streaks(zero, zero.copy(), zero.copy())
    key = (seg.learner << 32) + days  # one number per (learner, day): sorted, so boundaries are diffs
    first_of_day = np.empty(len(key), dtype=bool)
    first_of_day[0] = True
    np.not_equal(key[1:], key[:-1], out=first_of_day[1:])
    day_key, learner_days, active = take_where(first_of_day, key, seg.learner, days)
    run_start = np.empty(len(day_key), dtype=bool)
    run_start[0] = True
    np.not_equal(np.diff(day_key), 1, out=run_start[1:])  # a new learner jumps by far more than 1
    run_id = np.cumsum(run_start) - 1
    run_length = np.bincount(run_id)
    run_learner = learner_days[run_start]
    run_last_day = active[np.r_[np.flatnonzero(run_start)[1:] - 1, len(active) - 1]]
    is_last = np.r_[run_learner[1:] != run_learner[:-1], True]
    is_first = np.r_[True, is_last[:-1]]
    learners_with_runs = run_learner[is_last]
    longest = np.zeros(seg.n_learners, dtype=np.int64)
    longest[learners_with_runs] = np.maximum.reduceat(run_length, np.flatnonzero(is_first))  # runs sorted by learner
    last_run = np.full(seg.n_learners, -1, dtype=np.int64)
    last_run[learners_with_runs] = np.flatnonzero(is_last)
    today = day_numbers(np.array([now]))[0]
    has = last_run >= 0
    current = np.zeros(seg.n_learners, dtype=np.int64)
    alive = has.copy()
    alive[has] = run_last_day[last_run[has]] >= today - 1
    current[alive] = run_length[last_run[alive]]
    return Streaks(current, longest, np.bincount(learner_days, minlength=seg.n_learners))


@dataclass(frozen=True)
class Consistency:
    """How steadily a learner works over a window of days."""

    active_day_share: np.ndarray  # share of the window's days with any activity, 0..1
    regularity: np.ndarray  # 1 - coefficient of variation of gaps between active days, clipped 0..1
    score: np.ndarray  # 0..100 = 100 * (0.7 * share + 0.3 * regularity)


def compute_consistency(daily: np.ndarray) -> Consistency:
    """Consistency over the window of a daily-count matrix.

    Regularity needs at least three active days (two gaps); below that it is 0.
    """
    active = daily > 0
    share = active.mean(axis=1) if daily.shape[1] else np.zeros(daily.shape[0])
    learner, day = np.nonzero(active)  # row-major: sorted by learner, then day
    gap_learner, gaps = learner[1:], np.diff(day).astype(float)
    same = learner[1:] == learner[:-1]
    gap_learner, gaps = gap_learner[same], gaps[same]
    n = np.bincount(gap_learner, minlength=daily.shape[0]).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(gap_learner, weights=gaps, minlength=daily.shape[0]) / n
        var = np.bincount(gap_learner, weights=(gaps - mean[gap_learner]) ** 2, minlength=daily.shape[0]) / n
        regularity = np.where(n >= 2, np.clip(1.0 - np.sqrt(var) / mean, 0.0, 1.0), 0.0)
    return Consistency(share, regularity, 100.0 * (0.7 * share + 0.3 * regularity))


def _in_window(seg: Segments, times: np.ndarray, now: float, window_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Learner index and age in days of the events of the last window_days (future ones excluded)."""
    times = np.asarray(times, dtype=float)
    inside = (times > now - window_days * SECONDS_PER_DAY) & (times <= now)
    learner, times = take_where(inside, seg.learner, times)
    return learner, (now - times) * (1.0 / SECONDS_PER_DAY)


def rates(
    seg: Segments, times: np.ndarray, now: float, window_days: int, half_life_days: float
) -> tuple[np.ndarray, np.ndarray]:
    """Events per day over the window: plain, and with weights halving every `half_life_days` into the past.

    The weighted rate equals the plain one when events are spread evenly and rises when recent
    days are busier.
    """
    learner, age = _in_window(seg, times, now, window_days)
    plain = np.bincount(learner, minlength=seg.n_learners) / window_days
    norm = np.sum(np.exp2(-(np.arange(window_days) + 0.5) / half_life_days))
    weighted = np.bincount(learner, weights=np.exp2(-age / half_life_days), minlength=seg.n_learners) / norm
    return plain, weighted


@dataclass(frozen=True)
class Velocity:
    """Learning speed over a window."""

    modules_per_week: np.ndarray
    modules_per_week_weighted: np.ndarray
    activities_per_day: np.ndarray
    activities_per_day_weighted: np.ndarray


def compute_velocity(
    activity_seg: Segments,
    activity_times: np.ndarray,
    module_seg: Segments,
    module_times: np.ndarray,
    now: float,
    window_days: int = 28,
    half_life_days: float = 7.0,
) -> Velocity:
    """Modules per week and activities per day, plain and recency-weighted, over the last window."""
    modules, modules_weighted = rates(module_seg, module_times, now, window_days, half_life_days)
    activities, activities_weighted = rates(activity_seg, activity_times, now, window_days, half_life_days)
    return Velocity(7 * modules, 7 * modules_weighted, activities, activities_weighted)


def days_since_last(seg: Segments, times: np.ndarray, now: float) -> np.ndarray:
    """Days from each learner's latest event to now; NaN for learners without events."""
    return (now - seg.last(np.asarray(times, dtype=float))) / SECONDS_PER_DAY


def compute_engagement(
    activities_per_day: np.ndarray,
    active_day_share: np.ndarray,
    days_since_activity: np.ndarray,
    modules_per_week: np.ndarray,
) -> np.ndarray:
    """Engagement level 0-100.

    engagement = 40 * min(1, activities_per_day / 2)           (frequency)
               + 30 * active_day_share                          (regularity of showing up)
               + 20 * exp(-days_since_last_activity / 7)        (recency; 0 if never active)
               + 10 * min(1, modules_per_week / 1)              (progress)
    """
    recency = np.where(np.isnan(days_since_activity), 0.0, np.exp(-np.nan_to_num(days_since_activity) / RECENCY_DAYS))
    w = ENGAGEMENT_WEIGHTS
    return (
        w["frequency"] * np.minimum(1.0, activities_per_day / TARGET_ACTIVITIES_PER_DAY)
        + w["regularity"] * active_day_share
        + w["recency"] * recency
        + w["progress"] * np.minimum(1.0, modules_per_week / TARGET_MODULES_PER_WEEK)
    )
