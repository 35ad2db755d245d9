"""Decline tests: the posterior against a per-learner reference, and the designed false alarm rate by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analytics.grouping import segments
from analytics.rule_catalog import RULES
from analytics.trend_tests import NOISE_PRIOR_DOF, baseline_shift_test, recent_slope_test

TREND = RULES["declining_trend"].defaults
BASELINE = RULES["baseline_decline"].defaults


def test_slope_posterior_matches_a_per_learner_reference():
    scores = [np.array([80, 78, 79, 75, 70, 72, 66, 64, 60.0]), np.array([70, 71.0]), np.array([60, 65, 59, 70.0])]
    learner = np.repeat(np.arange(3), [len(s) for s in scores])
    test = recent_slope_test(segments(learner, 3), np.concatenate(scores), np.array([6, 6, 6]), np.full(3, 6.0))
    y = scores[0][-6:]
    fit = stats.linregress(np.arange(6), y)
    rss = np.sum((y - fit.intercept - fit.slope * np.arange(6)) ** 2)
    scale = np.sqrt((rss + NOISE_PRIOR_DOF * 36) / (4 + NOISE_PRIOR_DOF) / 17.5)
    assert test.slope[0] == pytest.approx(fit.slope) and test.stderr[0] == pytest.approx(scale)
    assert test.probability_negative[0] == pytest.approx(stats.t.cdf(-fit.slope / scale, 4 + NOISE_PRIOR_DOF))
    assert test.drop[0] == pytest.approx(-5 * fit.slope) and test.points.tolist() == [6, 2, 4]
    assert np.isnan(test.probability_negative[1]) and test.probability_negative[2] < 0.5  # 2 scores; rising


def test_shift_posterior_matches_a_per_learner_reference():
    y = np.array([90, 92, 88, 91, 80, 78, 79.0])
    test = baseline_shift_test(segments(np.zeros(7, dtype=np.int64), 1), y, 3, 3, np.array([6.0]))
    old, new = y[:4], y[4:]
    ss = np.sum((old - old.mean()) ** 2) + np.sum((new - new.mean()) ** 2)
    scale = np.sqrt((ss + NOISE_PRIOR_DOF * 36) / (5 + NOISE_PRIOR_DOF)) * np.sqrt(1 / 3 + 1 / 4)
    assert test.drop[0] == pytest.approx(old.mean() - new.mean())
    assert test.probability_lower[0] == pytest.approx(
        stats.t.cdf((old.mean() - new.mean()) / scale, 5 + NOISE_PRIOR_DOF)
    )


def weekly_firing(
    slope: float, sigma: float, seed: int, n: int = 1500, weeks: int = 6, step: float = 0.0, per_week: int = 3
):
    """Share of (learner, week) pairs from week 3 on in which each decline rule fired on some evaluation.

    Scores: a level, plus `slope` points per assessment, minus `step` points from the 7th score on, plus noise.
    """
    rng = np.random.default_rng(seed)
    total = weeks * per_week
    x = np.arange(total)[None, :]
    y = rng.uniform(45, 85, n)[:, None] + slope * x - step * (x >= 6) + rng.normal(0, sigma, (n, total))
    trend, shift = np.zeros((n, weeks), bool), np.zeros((n, weeks), bool)
    for k in range(3, total + 1):  # evaluate after every new score, as the event path does
        seg = segments(np.repeat(np.arange(n), k), n)
        flat = y[:, :k].ravel()
        t = recent_slope_test(seg, flat, np.full(n, int(TREND["last_n"])), np.full(n, TREND["noise_points"]))
        b = baseline_shift_test(seg, flat, 3, 3, np.full(n, BASELINE["noise_points"]))
        trend[:, (k - 1) // per_week] |= (
            (t.points >= TREND["min_scores"])
            & (np.nan_to_num(t.drop) >= TREND["min_drop_points"])
            & (np.nan_to_num(t.probability_negative) >= TREND["probability_at_least"])
        )
        shift[:, (k - 1) // per_week] |= (np.nan_to_num(b.drop) >= BASELINE["min_drop_points"]) & (
            np.nan_to_num(b.probability_lower) >= BASELINE["probability_at_least"]
        )
    return trend[:, 2:].mean(), shift[:, 2:].mean()


@pytest.mark.parametrize("sigma", [3.0, 6.0, 8.0])
def test_flat_learners_raise_decline_alerts_in_under_2_percent_of_weeks(sigma):
    rates = np.array([weekly_firing(0.0, sigma, seed) for seed in range(1, 6)])  # 5 seeds x 1500 learners
    assert rates.mean(axis=0).max() <= 0.02, rates


def test_clear_decliners_are_found():
    """A fall of 4 points per assessment (trend), or a drop of 20 points from the 7th score (shift), noise sd 5."""
    trend, _ = np.mean([weekly_firing(-4.0, 5.0, seed, n=800, weeks=3) for seed in range(1, 4)], axis=0)
    _, shift = np.mean([weekly_firing(0.0, 5.0, seed, n=800, weeks=3, step=20.0) for seed in range(1, 4)], axis=0)
    assert trend >= 0.9 and shift >= 0.9, (trend, shift)
