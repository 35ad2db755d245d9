"""Vectorized score metrics against per-learner references (numpy, scipy.stats.linregress, np.polyfit)."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
from scipy import stats

from analytics.grouping import AnalyticsInputError, segments
from analytics.learner_metrics import KIND_CODES, compute_learner_metrics, learner_metrics_and_trends
from analytics.scores import compute_baseline_decline, compute_score_stats, compute_score_trends, fit_lines
from analytics.synthetic import generate_cohort
from tests.analytics_data import per_learner, random_scores

SEEDS = [1, 2, 3, 4, 5]


@pytest.mark.parametrize("seed", SEEDS)
def test_score_stats_match_reference(seed):
    seg, times, percent = random_scores(seed)
    result = compute_score_stats(seg, percent, recent_n=4)
    for index, (scores,) in per_learner(seg, percent):
        if len(scores) == 0:
            assert np.isnan(result.average[index]) and np.isnan(result.best[index])
            continue
        assert result.average[index] == pytest.approx(scores.mean())
        assert result.recent_average[index] == pytest.approx(scores[-4:].mean())
        assert (result.best[index], result.worst[index]) == (scores.max(), scores.min())
        if len(scores) >= 2:
            assert result.volatility[index] == pytest.approx(scores.std(ddof=1))
        else:
            assert np.isnan(result.volatility[index])


@pytest.mark.parametrize("seed", SEEDS)
def test_trends_match_linregress_and_polyfit(seed):
    seg, times, percent = random_scores(seed)
    trends = compute_score_trends(seg, times, percent)
    for index, (t, scores) in per_learner(seg, times, percent):
        if len(scores) < 3:
            assert np.isnan(trends.per_assessment.p_value[index])
            continue
        reference = stats.linregress(np.arange(len(scores)), scores)
        fitted = trends.per_assessment
        assert fitted.slope[index] == pytest.approx(reference.slope, rel=1e-9, abs=1e-9)
        assert fitted.intercept[index] == pytest.approx(reference.intercept, rel=1e-9, abs=1e-7)
        assert fitted.stderr[index] == pytest.approx(reference.stderr, rel=1e-7)
        assert fitted.p_value[index] == pytest.approx(reference.pvalue, rel=1e-6, abs=1e-12)
        assert fitted.r_value[index] == pytest.approx(reference.rvalue, rel=1e-9, abs=1e-12)
        per_day = np.polyfit(t / 86400.0, scores, 1)[0]  # raw epoch days: the fit must still agree
        assert trends.per_day.slope[index] == pytest.approx(per_day, rel=1e-6)


def test_precision_with_raw_epoch_seconds():
    """A tiny slope over huge timestamps survives because x is centred per learner."""
    times = 1.7e9 + np.arange(50) * 3600.0
    y = 50 + 1e-6 * (times - times[0])
    seg = segments(np.zeros(50, dtype=np.int64), 1, times)
    slope = fit_lines(seg, times, y).slope[0]
    assert slope == pytest.approx(1e-6, rel=1e-9)
    assert slope == pytest.approx(np.polyfit(times - times.mean(), y, 1)[0], rel=1e-9)


def test_direction_thresholds_and_confidence():
    learner = np.repeat([0, 1, 2, 3], 10)
    x = np.tile(np.arange(10.0), 4)
    percent = np.concatenate(
        [60 + 2 * np.arange(10), 80 - 2 * np.arange(10), 70 + 0.2 * np.arange(10), np.full(10, 75.0)]
    )
    times = 1.7e9 + x * 86400
    trends = compute_score_trends(segments(learner, 4, times), times, percent, threshold=0.5)
    assert trends.direction.tolist() == [1, -1, 0, 0]
    assert trends.confidence_points.tolist() == [1.0, 1.0, 1.0, 1.0]
    assert trends.confidence[0] > 0.99 and trends.confidence[3] == 0.0  # identical scores: p = 1
    looser = compute_score_trends(segments(learner, 4, times), times, percent, threshold=0.1)
    assert looser.direction[2] == 1


def test_edge_cases_no_one_and_identical_scores():
    learner = np.array([1, 2, 2, 2])
    times = np.array([1.7e9, 1.7e9, 1.7e9 + 10, 1.7e9 + 20])
    percent = np.array([80.0, 50.0, 50.0, 50.0])
    seg = segments(learner, 3, times)
    trends = compute_score_trends(seg, times, percent)
    assert np.isnan(trends.per_assessment.slope[0]) and np.isnan(trends.per_assessment.slope[1])
    assert trends.per_assessment.slope[2] == 0.0 and trends.per_assessment.p_value[2] == 1.0
    assert trends.confidence_points.tolist() == [0.0, 0.0, 0.125]
    assert compute_score_stats(seg, percent).volatility[2] == 0.0


def test_same_timestamp_gives_no_per_day_slope():
    times = np.full(4, 1.7e9)
    trends = compute_score_trends(segments(np.zeros(4, dtype=np.int64), 1, times), times, np.array([1.0, 2, 3, 4]))
    assert np.isnan(trends.per_day.slope[0]) and np.isnan(trends.per_day.p_value[0])
    assert trends.per_assessment.slope[0] == pytest.approx(1.0)


def test_baseline_decline_notices_a_high_performer_dropping():
    steady = np.r_[np.full(8, 95.0) + np.tile([-1, 1], 4), [75, 76, 74]]  # 95%-learner now at 75%
    control = np.r_[np.full(8, 70.0) + np.tile([-5, 5], 4), [68, 72, 70]]
    percent = np.r_[steady, control]
    learner = np.repeat([0, 1], 11)
    seg = segments(learner, 3, None)
    decline = compute_baseline_decline(seg, percent, recent_k=3, min_history=3, std_floor=5.0)
    assert decline.drop[0] == pytest.approx(20.0)
    assert decline.z[0] == pytest.approx(-20.0 / 5.0)  # spread floored at 5 points
    assert abs(decline.z[1]) < 0.5
    assert np.isnan(decline.z[2])  # no scores at all
    reference_std = np.std(control[:8], ddof=1)
    assert decline.baseline_std[1] == pytest.approx(reference_std)


def test_contract_violations_are_named():
    with pytest.raises(AnalyticsInputError, match="sorted by learner"):
        segments(np.array([1, 0]), 2)
    with pytest.raises(AnalyticsInputError, match="sorted by time"):
        segments(np.array([0, 0]), 1, np.array([2.0, 1.0]))
    with pytest.raises(AnalyticsInputError, match="0..1"):
        segments(np.array([0, 5]), 2)


def test_take_where_equals_boolean_indexing():
    from analytics.grouping import take_where

    rng = np.random.default_rng(0)
    mask, a, b = rng.random(1000) < 0.5, rng.random(1000), np.arange(1000)
    taken_a, taken_b = take_where(mask, a, b)
    assert np.array_equal(taken_a, a[mask]) and np.array_equal(taken_b, b[mask])


def _leaves(tree: dict, prefix: str = ""):
    """(dotted name, array) of a dataclasses.asdict tree."""
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield prefix + key, value


@pytest.mark.parametrize("seed", [0, 1])
def test_the_metrics_trends_are_the_reports_trends(seed):
    """learner_metrics_and_trends hands back the trends the metrics fitted: compute_score_trends over the same
    learners' assessments at the default threshold, which the report's trend would otherwise fit again
    (services.reports)."""
    cohort = generate_cohort(60, seed=seed)
    events = cohort.events
    metrics, trends = learner_metrics_and_trends(events, cohort.now)
    assessed = events.kind == KIND_CODES["assessment"]
    seg = segments(events.learner[assessed], events.n_learners)
    again = compute_score_trends(seg, events.time[assessed], events.percent[assessed])
    ours, theirs = dict(_leaves(asdict(trends))), dict(_leaves(asdict(again)))
    assert ours.keys() == theirs.keys() and len(ours) > 6
    for name, value in ours.items():
        np.testing.assert_array_equal(value, theirs[name], err_msg=name)
    assert metrics.rows() == compute_learner_metrics(events, cohort.now).rows()
