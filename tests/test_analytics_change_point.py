"""The bend model average (analytics.change_point) behind the score forecast: evidence, and coverage on recent bends."""

from __future__ import annotations

import numpy as np

from analytics.change_point import (
    MIN_AFTER,
    MIN_BEFORE,
    PRIOR_NO_CHANGE,
    QUANTILE_TOLERANCE,
    TAU,
    forecast_with_bends,
)
from analytics.forecast import forecast_recent_scores
from analytics.grouping import segments

NOW = 1.7e9


def _bench_shaped(n: int, decline_start: float, rng: np.random.Generator, horizon: float = 14.0):
    """bench/archetypes' decliners: a score every 7/3 days over 35 days, flat, then ~2 points a day from
    `decline_start` days ago, noise sd 4, scores clipped to 0..100; the next score `horizon` days on."""
    ago = np.arange(34.5, 0.3, -7 / 3)[None, :] - rng.uniform(0, 0.3, (n, 1))
    level, drop = rng.uniform(72, 82, (n, 1)), rng.uniform(32, 38, (n, 1))
    mean = lambda t: level - drop * np.clip(decline_start - t, 0, None) / 17.0  # noqa: E731
    scores = np.clip(mean(ago) + rng.normal(0, 4, ago.shape), 0, 100)
    actual = np.clip(mean(np.array([[-horizon]]))[:, 0] + rng.normal(0, 4, n), 0, 100)
    learner, times = np.repeat(np.arange(n), ago.shape[1]), NOW - (ago * 86400).ravel()
    return segments(learner, n, times), times, scores.ravel(), actual


def test_a_clear_bend_is_found_and_followed():
    ago = np.array([16.3, 14, 11.7, 9.3, 7, 4.7, 2.3, 0.1])
    flat = np.array([75.3, 74.8, 75.1, 74.6, 75.2, 75.0, 74.7, 75.1])
    falling = 75 - 2 * np.clip(7 - ago, 0, None) + np.array([0.3, -0.2, 0.1, -0.4, 0.2, 0.0, -0.3, 0.1])
    times = NOW - ago * 86400
    seg = segments(np.zeros(8, dtype=np.int64), 1, times)
    bent = forecast_with_bends(seg, times, falling, NOW, 16, 14.0, 0.9)
    assert bent.probability_changed[0] > 0.95
    assert bent.low[0] < 75 - 2 * 21 < bent.high[0]  # the fall goes on: 33 in two weeks
    steady = forecast_with_bends(seg, times, flat, NOW, 16, 14.0, 0.9)
    assert steady.probability_changed[0] < 0.5
    assert steady.low[0] < 75 < steady.high[0] and steady.high[0] - steady.low[0] < 10


def test_too_few_scores_give_nan_and_three_give_the_line():
    times = NOW - np.array([5.0, 3.0, 1.0]) * 86400
    seg = segments(np.array([0, 0, 1]), 2, times)
    forecast = forecast_with_bends(seg, times, np.array([70.0, 72.0, 60.0]), NOW, 16, 7.0, 0.9)
    assert np.isnan(forecast.predicted[1]) and np.isnan(forecast.probability_changed[1])
    assert np.isnan(forecast.predicted[0])  # two scores: no interval
    seg3 = segments(np.zeros(3, dtype=np.int64), 1, times)
    three = forecast_with_bends(seg3, times, np.array([70.0, 72.0, 71.0]), NOW, 16, 7.0, 0.9)
    assert three.probability_changed[0] == 0.0 and three.low[0] < three.predicted[0] < three.high[0]


def test_a_fall_that_began_a_week_ago_is_no_longer_missed():
    """Bench-shaped learners whose fall began 7 days ago (3 falling scores of 15, noise sd 4).

    The 8-score line covered their next score 12-14% of the time, the plain model average ~59%, the interval
    robust to EPSILON of the prior ~72% (74% at the former 0.1; bench/RESULTS.md): their data are ambiguous
    (3 scores fall ~14 points against noise 4, t about 2.6, the bend could sit at any of 12 scores), so this is
    a floor against regressions, not calibration. Over n = 4000 the binomial sd is 0.7 points; 0.68 is about
    five of them below the measured 71.6%.
    """
    seg, times, scores, actual = _bench_shaped(4000, 7.0, np.random.default_rng(41))
    forecast = forecast_recent_scores(seg, times, scores, NOW, 8, 14.0, 0.9)
    inside = (actual >= forecast.low - 1e-9) & (actual <= forecast.high + 1e-9)
    assert inside.mean() >= 0.68, inside.mean()


def test_a_fall_that_began_four_scores_ago_gets_its_coverage():
    """Bench-shaped learners falling since 4 scores (9.6 days) ago: the issue's 90 +- 5 (the plain model average
    covered 81-82%). n = 4000: binomial sd 0.5 points, so a pass bounds the true coverage within about +-6.5."""
    seg, times, scores, actual = _bench_shaped(4000, 4 * 7 / 3 + 0.3, np.random.default_rng(45))
    forecast = forecast_recent_scores(seg, times, scores, NOW, 8, 14.0, 0.9)
    inside = (actual >= forecast.low - 1e-9) & (actual <= forecast.high + 1e-9)
    assert 0.85 <= inside.mean() <= 0.95, inside.mean()


def test_steady_bench_learners_keep_coverage_and_width():
    """Bench-shaped flat learners (15 scores, noise sd 4): 90 +- 5% coverage (n = 4000, sd 0.5 points; the robust
    interval is conservative where nothing changed, ~93.7%), and an interval no wider than the straight 8-score
    line's (median 33 points on the bench's steady learners)."""
    seg, times, scores, actual = _bench_shaped(4000, -100.0, np.random.default_rng(43))
    forecast = forecast_recent_scores(seg, times, scores, NOW, 8, 14.0, 0.9)
    inside = (actual >= forecast.low - 1e-9) & (actual <= forecast.high + 1e-9)
    assert 0.85 <= inside.mean() <= 0.95, inside.mean()
    assert np.median(forecast.high - forecast.low) < 33.0
    assert np.median(forecast.probability_changed) < 0.5


def _prior_drawn(n: int, rng: np.random.Generator, horizon: float = 14.0):
    """Learners drawn from the bend model's own prior (bench spacing, 15 scores, no clipping): half keep their
    line, half bend at a uniform valid score by d ~ N(0, TAU^2) points a day; noise sd 2-8."""
    ago = np.arange(34.5, 0.3, -7 / 3)[None, :] - rng.uniform(0, 0.3, (n, 1))
    x = ago.max() - ago
    level, slope, sigma = rng.uniform(40, 60, (n, 1)), rng.normal(0, 0.3, (n, 1)), rng.uniform(2, 8, n)
    bent = rng.random(n) >= PRIOR_NO_CHANGE
    position = rng.integers(MIN_BEFORE - 1, x.shape[1] - MIN_AFTER, n)
    knot, change = x[np.arange(n), position][:, None], np.where(bent, rng.normal(0, TAU, n), 0.0)[:, None]
    mean = lambda t: level + slope * t + change * np.maximum(t - knot, 0)  # noqa: E731
    scores = mean(x) + rng.normal(0, sigma[:, None], x.shape)
    actual = mean(np.full((n, 1), ago.max() + horizon))[:, 0] + rng.normal(0, sigma)
    late = bent & (position >= x.shape[1] - MIN_AFTER - 2) & (np.abs(change[:, 0]) > 1.5)
    learner, times = np.repeat(np.arange(n), x.shape[1]), NOW - (ago * 86400).ravel()
    return segments(learner, n, times), times, scores.ravel(), actual, bent, late


def test_the_model_average_is_calibrated_under_its_own_prior_and_the_robust_interval_on_recent_bends():
    """The cause of the under-coverage on recent falls, pinned down: the plain mixture (epsilon = 0) covers its
    level on average over its own prior (measured 90.3-90.7%; n = 5000, sd 0.42 points, so 90 +- 1.5 is 3.5 of
    them, the kappa plug-in being the one inexact step), over-covers learners with no change (~93%) and
    under-covers large bends in the last 3 valid positions (~65%): Bayesian, not per-slice, calibration. The
    interval robust to EPSILON of the prior holds at least the level overall and lifts the late bends."""
    seg, times, scores, actual, bent, late = _prior_drawn(5000, np.random.default_rng(47))
    plain = forecast_with_bends(seg, times, scores, NOW, 16, 14.0, 0.9, epsilon=0.0)
    robust = forecast_with_bends(seg, times, scores, NOW, 16, 14.0, 0.9)
    inside = {k: (actual >= f.low) & (actual <= f.high) for k, f in (("plain", plain), ("robust", robust))}
    assert 0.885 <= inside["plain"].mean() <= 0.915, inside["plain"].mean()
    assert inside["plain"][~bent].mean() > 0.9 > 0.8 > inside["plain"][late].mean()
    tol = QUANTILE_TOLERANCE  # both ends are bisected to this width, so nesting holds to it, not to float precision
    assert np.all(robust.low <= plain.low + tol) and np.all(robust.high >= plain.high - tol)
    assert inside["robust"].mean() >= 0.9 and inside["robust"][late].mean() >= inside["plain"][late].mean() + 0.05
