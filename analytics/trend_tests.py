"""Decline tests with size AND evidence: a recent-window slope and a recent-vs-baseline mean shift.

Both use the same noise model. Scores are y = level + slope * x + e with e ~ N(0, sigma^2); sigma
gets a scaled-inverse-chi-square prior centred on `noise_points` worth `NOISE_PRIOR_DOF` degrees
of freedom, and the level and slope a flat prior. The posterior of a slope (or of a difference
of means) is then Student t with (residual dof + NOISE_PRIOR_DOF) degrees of freedom around the
least-squares estimate, with scale s = sqrt((RSS + dof0 * noise^2) / (dof + dof0)) / sqrt(Sxx).

False alarm rate. For a flat learner whose noise sd is at most `noise_points`, the rule
"P(slope < 0 | scores) >= q" fires on one evaluation with probability at most 1 - q: for
normal noise, b / se is then no heavier-tailed than the posterior t (the prior adds noise^2
of fixed spread, which only shrinks the tails), so P(t-stat <= -t_q) <= 1 - q. The minimum
drop in points lowers it further. With q = 0.995, about three new scores a week and
overlapping windows, the rate per week stays under 2% (tests/test_analytics_trend_tests.py
checks it by simulation over many seeds and noise levels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from analytics.grouping import Segments, segments, take_where
from analytics.scores import fit_lines

NOISE_PRIOR_DOF = 4.0  # the prior on the noise counts like 4 extra residual degrees of freedom


@dataclass(frozen=True)
class SlopeTest:
    """Slope of each learner's last scores (points per assessment) and the evidence it is negative."""

    points: np.ndarray  # scores in the window
    slope: np.ndarray  # least squares, points per assessment; NaN below 3 scores
    stderr: np.ndarray  # posterior scale of the slope
    drop: np.ndarray  # fitted fall over the window = -slope * (points - 1), points (positive = worse)
    probability_negative: np.ndarray  # posterior P(slope < 0 | scores), 0..1; NaN below 3 scores


def recent_slope_test(seg: Segments, percent: np.ndarray, window: np.ndarray, noise_points: np.ndarray) -> SlopeTest:
    """Fit each learner's last window[learner] scores against their order and test for a fall."""
    percent = np.asarray(percent, dtype=float)
    window = np.asarray(window, dtype=np.int64)
    inside = seg.rank_from_end() < window[seg.learner]
    learner, y = take_where(inside, seg.learner, percent)
    sub = segments(learner, seg.n_learners)
    fit = fit_lines(sub, sub.rank().astype(float), y)
    n = sub.counts.astype(float)
    dof = np.maximum(n - 2, 0.0)
    noise = np.asarray(noise_points, dtype=float)
    rss = np.nan_to_num(fit.residual_std**2 * dof)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.sqrt((rss + NOISE_PRIOR_DOF * noise**2) / (dof + NOISE_PRIOR_DOF) / fit.sxx)
    valid = (n >= 3) & ~np.isnan(fit.slope)
    slope = np.where(valid, fit.slope, np.nan)
    probability = np.where(valid, stats.t.cdf(-np.nan_to_num(slope) / scale, dof + NOISE_PRIOR_DOF), np.nan)
    return SlopeTest(sub.counts, slope, np.where(valid, scale, np.nan), -slope * (n - 1), probability)


@dataclass(frozen=True)
class ShiftTest:
    """Mean of the last k scores against the mean of the learner's earlier scores."""

    recent_mean: np.ndarray
    baseline_mean: np.ndarray
    drop: np.ndarray  # baseline_mean - recent_mean, points (positive = worse)
    stderr: np.ndarray  # posterior scale of the difference
    probability_lower: np.ndarray  # posterior P(recent level < baseline level | scores); NaN without history


def baseline_shift_test(
    seg: Segments, percent: np.ndarray, recent_k: int, min_history: int, noise_points: np.ndarray
) -> ShiftTest:
    """Two-sample posterior test, pooled within-group variance plus the noise prior."""
    percent = np.asarray(percent, dtype=float)
    recent = seg.rank_from_end() < recent_k
    n_recent = np.bincount(seg.learner, weights=recent.astype(float), minlength=seg.n_learners)
    n_older = seg.counts - n_recent
    with np.errstate(invalid="ignore", divide="ignore"):
        recent_mean = seg.sum(percent * recent) / n_recent
        baseline_mean = seg.sum(percent * ~recent) / n_older
        centre = np.where(recent, recent_mean[seg.learner], baseline_mean[seg.learner])
        ss = seg.sum(np.nan_to_num(percent - centre) ** 2)
        dof = np.maximum(n_recent - 1, 0) + np.maximum(n_older - 1, 0)
        noise = np.asarray(noise_points, dtype=float)
        pooled = np.sqrt((ss + NOISE_PRIOR_DOF * noise**2) / (dof + NOISE_PRIOR_DOF))
        scale = pooled * np.sqrt(1 / n_recent + 1 / n_older)
        drop = baseline_mean - recent_mean
        valid = (n_recent >= recent_k) & (n_older >= min_history)
        probability = np.where(valid, stats.t.cdf(np.nan_to_num(drop) / scale, dof + NOISE_PRIOR_DOF), np.nan)
    return ShiftTest(
        np.where(n_recent > 0, recent_mean, np.nan),
        np.where(n_older > 0, baseline_mean, np.nan),
        np.where(valid, drop, np.nan),
        np.where(valid, scale, np.nan),
        probability,
    )
