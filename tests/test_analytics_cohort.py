"""Cohort analytics against straightforward per-group references."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.cohort import GRADE_BANDS, cohort_average_trend, grade_band, summarize_cohorts, top_and_low_performers


def test_grade_bands_at_their_edges():
    percent = np.array([100, 90, 89.9, 80, 75, 70, 65, 60, 59.99, 55, 50, 49, 0, np.nan])
    names = [GRADE_BANDS[b] if b >= 0 else None for b in grade_band(percent)]
    assert names == ["A+", "A+", "A", "A", "B+", "B", "C+", "C", "D+", "D+", "D", "F", "F", None]


def test_bad_band_edges_are_refused():
    with pytest.raises(ValueError):
        grade_band(np.array([50.0]), (50.0, 60.0, 70.0, 75.0, 80.0, 85.0, 90.0, 95.0))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_summary_matches_reference(seed):
    rng = np.random.default_rng(seed)
    n_learners, n_groups = 200, 6
    average = np.where(rng.random(n_learners) < 0.1, np.nan, rng.uniform(20, 100, n_learners))
    attendance = rng.uniform(50, 100, n_learners)
    light = rng.integers(-1, 3, n_learners)
    pairs = {(l, g) for l, g in zip(rng.integers(0, n_learners, 400), rng.integers(0, n_groups, 400))}
    member_learner, member_group = map(np.array, zip(*sorted(pairs)))
    summary = summarize_cohorts(member_learner, member_group, n_groups, average, attendance, light, pass_mark=60)
    for g in range(n_groups):
        members = member_learner[member_group == g]
        scores = average[members][~np.isnan(average[members])]
        assert summary.learners[g] == len(members) and summary.scored[g] == len(scores)
        assert summary.average[g] == pytest.approx(scores.mean())
        assert summary.pass_rate[g] == pytest.approx(np.mean(scores >= 60))
        assert summary.band_counts[g].sum() == len(scores)
        assert summary.attendance[g] == pytest.approx(attendance[members].mean())
        assert summary.risk_counts[g].tolist() == [int(np.sum(light[members] == c)) for c in range(3)]
    best, worst = top_and_low_performers(member_learner, member_group, n_groups, average, k=3)
    for g in range(n_groups):
        members = [m for m in member_learner[member_group == g] if not np.isnan(average[m])]
        ranked = sorted(members, key=lambda m: (-average[m], m))
        assert best[g].tolist() == (ranked[:3] + [-1] * 3)[:3]
        assert worst[g].tolist() == (sorted(members, key=lambda m: (average[m], m))[:3] + [-1] * 3)[:3]


def test_empty_group_and_trend():
    summary = summarize_cohorts(np.array([0]), np.array([0]), 2, np.array([70.0]))
    assert summary.learners.tolist() == [1, 0] and np.isnan(summary.average[1])
    trend = cohort_average_trend(
        np.array([0, 0, 0, 1]),
        np.array([0.0, 10.0, 700.0, 50.0]),
        np.array([50.0, 70.0, 90.0, 40.0]),
        2,
        start=0.0,
        bucket_seconds=600.0,
        n_buckets=2,
    )
    assert trend[0].tolist() == [60.0, 90.0] and trend[1, 0] == 40.0 and np.isnan(trend[1, 1])
