"""Score metrics per learner: averages, volatility, least-squares trends, decline against own baseline.

Scores are percentages (0-100, i.e. 100 * score / max_score), one per assessment, in the event
order of `analytics.grouping` (sorted by learner, then time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from analytics.grouping import SECONDS_PER_DAY, Segments

DIRECTION_NAMES = {-1: "declining", 0: "stable", 1: "improving"}
DEFAULT_TREND_THRESHOLD = 0.5  # percentage points per assessment (the product brief's +-0.5)
DEFAULT_RECENT_N = 5


@dataclass(frozen=True)
class ScoreStats:
    """Per-learner score summary; NaN where a learner has no (or too few) scores."""

    count: np.ndarray  # assessments
    average: np.ndarray  # mean percent
    recent_average: np.ndarray  # mean percent of the last `recent_n` assessments
    best: np.ndarray  # highest percent
    worst: np.ndarray  # lowest percent
    volatility: np.ndarray  # sample standard deviation (percentage points), NaN below 2 scores


def compute_score_stats(seg: Segments, percent: np.ndarray, recent_n: int = DEFAULT_RECENT_N) -> ScoreStats:
    """Average, recent average, best, worst and volatility for every learner at once."""
    percent = np.asarray(percent, dtype=float)
    average = seg.mean(percent)
    recent = seg.rank_from_end() < recent_n
    with np.errstate(invalid="ignore", divide="ignore"):
        recent_average = np.bincount(seg.learner, weights=percent * recent, minlength=seg.n_learners) / np.minimum(
            seg.counts, recent_n
        )
        squares = seg.sum((percent - average[seg.learner]) ** 2)
        volatility = np.where(seg.counts >= 2, np.sqrt(squares / (seg.counts - 1)), np.nan)
    return ScoreStats(
        seg.counts,
        average,
        recent_average,
        seg.reduce(np.maximum, percent),
        seg.reduce(np.minimum, percent),
        volatility,
    )


@dataclass(frozen=True)
class Regression:
    """Ordinary least squares y = intercept + slope * x, fitted per learner."""

    points: np.ndarray  # n
    slope: np.ndarray  # NaN below 2 points or when x does not vary
    intercept: np.ndarray  # at x = 0 of the caller's x
    stderr: np.ndarray  # standard error of the slope; NaN below 3 points
    p_value: np.ndarray  # two-sided, H0: slope = 0 (Student t, n - 2 dof); NaN below 3 points
    r_value: np.ndarray  # correlation coefficient
    mean_x: np.ndarray  # per-learner mean of x
    sxx: np.ndarray  # per-learner sum of squared x deviations
    residual_std: np.ndarray  # sqrt(residual sum of squares / (n - 2)); NaN below 3 points


def fit_lines(seg: Segments, x: np.ndarray, y: np.ndarray) -> Regression:
    """Vectorized per-learner OLS, like scipy.stats.linregress for each learner.

    x and y are centred on each learner's means before the sums, so raw epoch seconds keep
    their precision (the closed form on uncentred timestamps loses it).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = seg.counts.astype(float)
    mean_x, mean_y = seg.mean(x), seg.mean(y)
    dx, dy = x - mean_x[seg.learner], y - mean_y[seg.learner]
    sxx, sxy, syy = seg.sum(dx * dx), seg.sum(dx * dy), seg.sum(dy * dy)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where((n >= 2) & (sxx > 0), sxy / sxx, np.nan)
        intercept = mean_y - slope * mean_x
        r_value = np.where(syy > 0, sxy / np.sqrt(sxx * syy), 0.0)
        residual = np.clip(syy - slope * sxy, 0.0, None)
        dof = n - 2
        stderr = np.where((dof >= 1) & ~np.isnan(slope), np.sqrt(residual / dof / sxx), np.nan)
        t = np.where(stderr > 0, slope / stderr, np.where(slope == 0, 0.0, np.inf))
        p_value = np.where((dof >= 1) & ~np.isnan(slope), 2 * special.stdtr(np.maximum(dof, 1), -np.abs(t)), np.nan)
        residual_std = np.where(dof >= 1, np.sqrt(residual / dof), np.nan)
    return Regression(
        seg.counts,
        slope,
        intercept,
        stderr,
        p_value,
        np.where(np.isnan(slope), np.nan, r_value),
        mean_x,
        sxx,
        np.where(np.isnan(slope), np.nan, residual_std),
    )


@dataclass(frozen=True)
class ScoreTrends:
    """Trend of each learner's scores, per assessment and per day, with how far to trust it."""

    per_assessment: Regression  # x = 0, 1, 2, ... (assessment number)
    per_day: Regression  # x = days since the learner's first assessment
    direction: np.ndarray  # -1 declining, 0 stable, 1 improving (by per-assessment slope)
    confidence_points: np.ndarray  # 0..1 from the number of scores: 0 at 2 points, 1 from 10 up
    confidence: np.ndarray  # DEPRECATED: 1 - two-sided p-value (not a probability of anything); kept for clients
    probability_declining: np.ndarray  # posterior P(per-assessment slope < 0 | scores), flat prior; NaN below 3


def compute_score_trends(
    seg: Segments, times: np.ndarray, percent: np.ndarray, threshold: float = DEFAULT_TREND_THRESHOLD
) -> ScoreTrends:
    """Least-squares score trends for every learner; direction uses +-threshold points per assessment."""
    times = np.asarray(times, dtype=float)
    first = seg.reduce(np.minimum, times, fill=0.0)
    per_assessment = fit_lines(seg, seg.rank().astype(float), percent)
    per_day = fit_lines(seg, (times - first[seg.learner]) / SECONDS_PER_DAY, percent)
    slope = np.nan_to_num(per_assessment.slope)
    direction = np.where(slope > threshold, 1, np.where(slope < -threshold, -1, 0)).astype(np.int8)
    confidence_points = np.clip((seg.counts - 2) / 8.0, 0.0, 1.0)
    confidence = np.where(np.isnan(per_assessment.p_value), 0.0, 1.0 - per_assessment.p_value)
    return ScoreTrends(
        per_assessment, per_day, direction, confidence_points, confidence, probability_declining(per_assessment)
    )


def probability_declining(fit: Regression) -> np.ndarray:
    """Posterior probability that the slope is negative: with flat priors on the line and on log sigma,
    (slope - b) / stderr is Student t with n - 2 dof, so P(slope < 0) = T_{n-2}(-b / stderr). NaN below 3 points;
    a perfect fit (stderr 0) gives 1 or 0 by the sign of the slope."""
    dof = fit.points.astype(float) - 2
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(fit.stderr > 0, -fit.slope / fit.stderr, -np.sign(fit.slope) * np.inf)
        p = special.stdtr(np.maximum(dof, 1), z)  # stats.t.cdf's own function
    return np.where((dof >= 1) & ~np.isnan(fit.slope), p, np.nan)


@dataclass(frozen=True)
class BaselineDecline:
    """The last k scores against the learner's own earlier scores."""

    recent_mean: np.ndarray  # mean percent of the last k scores
    baseline_mean: np.ndarray  # mean percent of the scores before them
    baseline_std: np.ndarray  # their sample standard deviation
    drop: np.ndarray  # baseline_mean - recent_mean, percentage points (positive = worse)
    z: np.ndarray  # (recent_mean - baseline_mean) / max(baseline_std, std_floor); NaN without history


def compute_baseline_decline(
    seg: Segments, percent: np.ndarray, recent_k: int = 3, min_history: int = 3, std_floor: float = 5.0
) -> BaselineDecline:
    """Z-score of recent scores against the learner's own history, so a 95%-learner falling to 75% shows.

    The spread is floored at `std_floor` points so a very steady learner's one-point dip is
    not an alarm. Learners with fewer than recent_k + min_history scores get NaN.
    """
    percent = np.asarray(percent, dtype=float)
    recent = (seg.rank_from_end() < recent_k).astype(float)
    older = 1.0 - recent
    n_recent = np.bincount(seg.learner, weights=recent, minlength=seg.n_learners)
    n_older = seg.counts - n_recent
    with np.errstate(invalid="ignore", divide="ignore"):
        recent_mean = seg.sum(percent * recent) / n_recent
        baseline_mean = seg.sum(percent * older) / n_older
        deviation = (percent - baseline_mean[seg.learner]) * older
        baseline_std = np.sqrt(seg.sum(deviation * deviation) / (n_older - 1))
        valid = (n_recent >= recent_k) & (n_older >= min_history)
        z = np.where(valid, (recent_mean - baseline_mean) / np.maximum(baseline_std, std_floor), np.nan)
    return BaselineDecline(
        recent_mean,
        np.where(n_older > 0, baseline_mean, np.nan),
        np.where(n_older > 1, baseline_std, np.nan),
        baseline_mean - recent_mean,
        z,
    )


@dataclass(frozen=True)
class RecentWindow:
    """Each learner's last `window` scores: which entries of the full arrays they are, as segments of their own,
    and their x in days from each learner's oldest one (its epoch seconds: `origin`)."""

    inside: np.ndarray  # bool per entry of the full arrays
    seg: Segments
    x: np.ndarray
    origin: np.ndarray


def recent_window(seg: Segments, times: np.ndarray, window: int) -> RecentWindow:
    """Where each learner's last `window` scores lie, found once for every fit over them (a forecast fits the
    scores and their logits over the same window)."""
    times = np.asarray(times, dtype=float)
    inside = seg.rank_from_end() < window
    learner, t = seg.learner[inside], times[inside]
    sub = Segments(learner, np.minimum(seg.counts, window), np.r_[0, np.cumsum(np.minimum(seg.counts, window))[:-1]])
    origin = sub.reduce(np.minimum, t, fill=0.0)
    return RecentWindow(inside, sub, (t - origin[sub.learner]) / SECONDS_PER_DAY, origin)


def fit_recent_days(
    seg: Segments, times: np.ndarray, percent: np.ndarray, window: int
) -> tuple[Regression, np.ndarray]:
    """Per-day OLS over each learner's last `window` scores, and each learner's x origin (epoch seconds).

    Forecasts extrapolate the recent trend: a learner who was flat for months and has been falling
    for three weeks is forecast from the fall, not from a line averaged over both phases.
    """
    recent = recent_window(seg, times, window)
    return fit_lines(recent.seg, recent.x, np.asarray(percent, dtype=float)[recent.inside]), recent.origin
