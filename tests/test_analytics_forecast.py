"""Forecasts: the closed forms against simulation, intervals that widen with less or irregular data."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.change_point import forecast_with_bends
from analytics.forecast import (
    PRIOR_DAYS,
    PRIOR_SHAPE,
    cohort_prior,
    dispersion_index,
    forecast_completion,
    forecast_recent_scores,
    forecast_scores,
    gap_dispersion,
)
from analytics.grouping import segments
from analytics.scores import compute_score_trends, fit_recent_days


def test_completion_closed_form_matches_simulation():
    rng = np.random.default_rng(0)
    completed, total, exposure, deadline = 6, 10, 42.0, 30.0
    forecast = forecast_completion(np.array([completed]), np.array([total]), np.array([exposure]), deadline)
    a, b = PRIOR_SHAPE + completed, PRIOR_DAYS + exposure
    rates = rng.gamma(a, 1 / b, 400_000)
    days = rng.gamma(total - completed, 1 / rates)
    assert forecast.median_days[0] == pytest.approx(np.median(days), rel=0.02)
    assert forecast.low_days[0] == pytest.approx(np.quantile(days, 0.1), rel=0.03)
    assert forecast.high_days[0] == pytest.approx(np.quantile(days, 0.9), rel=0.03)
    assert forecast.probability_by_deadline[0] == pytest.approx(np.mean(days <= deadline), abs=0.005)
    assert forecast.rate_per_week[0] == pytest.approx(7 * a / b)


def test_interval_widens_with_little_or_irregular_data():
    # Same observed rate (one module a week), ten times less history for learner 1.
    forecast = forecast_completion(np.array([10, 1]), np.array([20, 11]), np.array([70.0, 7.0]), 70.0)
    relative = (forecast.high_days - forecast.low_days) / forecast.median_days
    assert relative[1] > 2 * relative[0]
    regular = forecast_completion(np.array([10]), np.array([20]), np.array([70.0]), 70.0, dispersion=1.0)
    bursty = forecast_completion(np.array([10]), np.array([20]), np.array([70.0]), 70.0, dispersion=4.0)
    steady = forecast_completion(np.array([10]), np.array([20]), np.array([70.0]), 70.0, dispersion=0.5)
    assert bursty.high_days[0] - bursty.low_days[0] > 1.5 * (regular.high_days[0] - regular.low_days[0])
    assert steady.high_days[0] - steady.low_days[0] < regular.high_days[0] - regular.low_days[0]
    assert bursty.rate_per_week[0] == pytest.approx(regular.rate_per_week[0], rel=0.1)


def test_finished_and_new_learners():
    forecast = forecast_completion(np.array([5, 0]), np.array([5, 8]), np.array([30.0, 0.0]), np.array([10.0, 10.0]))
    assert forecast.median_days[0] == 0 and forecast.probability_by_deadline[0] == 1.0
    assert forecast.remaining.tolist() == [0, 8]
    assert np.isfinite(forecast.median_days[1]) and forecast.probability_by_deadline[1] < 0.2  # prior only


def test_dispersion_index_is_estimated_not_floored():
    index = dispersion_index(np.array([[1, 1, 1, 1], [0, 4, 0, 0], [0, 0, 0, 0]]))
    # raw 0, 4 and undefined over 3 degrees of freedom, each averaged with 1 worth 4 weeks
    assert index == pytest.approx([4 / 7, (3 * 4 + 4) / 7, 1.0])
    observed = np.array([[False, False, True, True], [True, True, True, True]])
    masked = dispersion_index(np.array([[0, 0, 2, 2], [0, 0, 2, 2]]), observed)
    assert masked[0] == pytest.approx(4 / 5) and masked[1] > 1  # weeks before joining are not zeros


def test_cohort_prior_recovers_the_spread_of_paces():
    rng = np.random.default_rng(5)
    n = 4000
    rates = rng.gamma(4.0, 1 / 28.0, n)  # mean one module a week, between-learner spread
    exposure = rng.uniform(14, 60, n)
    completed = rng.poisson(rates * exposure)
    group = np.r_[np.zeros(n - 3, dtype=np.int64), [1, 1, 1]]  # course 1 has too few learners
    shape, days = cohort_prior(group, completed, exposure, 2)
    assert shape[0] / days[0] == pytest.approx(1 / 7, rel=0.05)
    assert days[0] == pytest.approx(28.0, rel=0.25) and shape[0] == pytest.approx(4.0, rel=0.25)
    assert (shape[1], days[1]) == (PRIOR_SHAPE, PRIOR_DAYS)


def test_completion_interval_covers_its_level_on_a_simulated_course():
    """Heterogeneous Poisson learners: the 80% interval holds the real finish ~80% of the time."""
    rng = np.random.default_rng(6)
    n, total = 3000, 12
    rates = rng.gamma(3.0, 1 / 21.0, n)
    exposure = rng.uniform(21, 56, n)
    completed = np.minimum(rng.poisson(rates * exposure), total - 1)
    shape, days = cohort_prior(np.zeros(n, dtype=np.int64), completed, exposure, 1)
    forecast = forecast_completion(completed, np.full(n, total), exposure, 0.0, 1.0, 0.8, shape[0], days[0])
    actual = rng.gamma(total - completed, 1 / rates)  # Poisson process: waiting time of the remaining modules
    inside = (actual >= forecast.low_days) & (actual <= forecast.high_days)
    assert 0.75 <= inside.mean() <= 0.85
    assert abs(np.median(forecast.median_days - actual)) < 7


def test_score_forecast_interval_has_its_coverage():
    """On simulated linear learners, ~90% of the real next score lands in the 90% interval."""
    rng = np.random.default_rng(3)
    n_learners, n_points, horizon = 4000, 8, 10.0
    days = np.sort(rng.uniform(0, 40, (n_learners, n_points)), axis=1)
    slopes, starts = rng.normal(0, 0.25, n_learners), rng.uniform(40, 65, n_learners)  # stays in 0..100
    scores = starts[:, None] + slopes[:, None] * days + rng.normal(0, 4, days.shape)
    learner = np.repeat(np.arange(n_learners), n_points)
    times = 1.7e9 + days.ravel() * 86400
    trends = compute_score_trends(segments(learner, n_learners, times), times, scores.ravel())
    forecast = forecast_scores(trends.per_day, days[:, -1] - days[:, 0], horizon, level=0.9)
    actual = starts + slopes * (days[:, -1] + horizon) + rng.normal(0, 4, n_learners)
    assert ((actual > 0) & (actual < 100)).mean() > 0.99
    inside = (actual >= forecast.low) & (actual <= forecast.high)
    assert 0.87 <= inside.mean() <= 0.93


def test_score_forecast_reference_for_one_learner():
    x = np.array([0.0, 2, 5, 9, 14])
    y = np.array([60.0, 64, 63, 70, 72])
    times = 1.7e9 + x * 86400
    trends = compute_score_trends(segments(np.zeros(5, dtype=np.int64), 1, times), times, y)
    forecast = forecast_scores(trends.per_day, np.array([14.0]), 7.0, level=0.95)
    slope, intercept = np.polyfit(x, y, 1)
    s = np.sqrt(np.sum((y - (intercept + slope * x)) ** 2) / 3)
    from scipy import stats

    half = stats.t.ppf(0.975, 3) * s * np.sqrt(1 + 1 / 5 + (21 - x.mean()) ** 2 / np.sum((x - x.mean()) ** 2))
    assert forecast.predicted[0] == pytest.approx(intercept + slope * 21)
    assert forecast.high[0] == pytest.approx(min(100, intercept + slope * 21 + half))
    too_few = compute_score_trends(segments(np.zeros(2, dtype=np.int64), 1, times[:2]), times[:2], y[:2])
    assert np.isnan(forecast_scores(too_few.per_day, np.array([2.0]), 7.0).low[0])


def test_gap_dispersion_tells_regular_from_bursty():
    rng = np.random.default_rng(8)
    regular = np.cumsum(rng.gamma(8.0, 1 / 8.0, 30)) * 86400  # CV^2 = 1/8
    poisson = np.cumsum(rng.exponential(1.0, 30)) * 86400
    pair = np.repeat([0, 1], 30)
    index = gap_dispersion(pair, np.r_[regular, poisson], 3)
    assert index[0] < 0.4 and 0.6 < index[1] < 1.6 and index[2] == 1.0  # pair 2 has no completions


def test_recent_fit_follows_a_change_of_trend():
    days = np.arange(0, 60, 2.0)
    y = np.where(days < 40, 80.0, 80 - 2.0 * (days - 40))  # flat, then falling 2 points a day
    times = 1.7e9 + days * 86400
    seg = segments(np.zeros(len(days), dtype=np.int64), 1, times)
    recent, origin = fit_recent_days(seg, times, y, 8)
    assert recent.points[0] == 8 and recent.slope[0] == pytest.approx(-2.0, rel=0.2)
    assert origin[0] == times[-8]
    assert compute_score_trends(seg, times, y).per_day.slope[0] > -1.0  # the all-history line misses it


def _learner_paths(kind: str, n: int, rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """True mean score at `days` (n, k) for learners of one kind (the seed fixes each learner's parameters)."""
    start = {"flat": (60, 90), "near_top": (93, 98), "decliner": (75, 85), "saturating": (50, 65)}.get(kind, (40, 65))
    level = rng.uniform(*start, n)[:, None]
    if kind == "decliner":
        return level - 1.5 * days
    if kind == "saturating":  # a learning curve approaching 100 (the +8 points a score case, as it really ends)
        return 100 - (100 - level) * np.exp(-days / rng.uniform(8, 15, n)[:, None])
    if kind == "linear":
        return level + rng.normal(0, 0.25, n)[:, None] * days
    return np.repeat(level, days.shape[1], axis=1)


@pytest.mark.parametrize(
    ("kind", "noise"), [("flat", 6.0), ("near_top", 2.5), ("decliner", 4.0), ("saturating", 3.0), ("linear", 4.0)]
)
def test_recent_score_forecast_keeps_its_coverage_near_the_bounds(kind, noise):
    """90% interval: the next score 14 days on (clipped to 0..100 like real scores) lands inside 90 +- 5% of the time.

    +-5 is the issue's target; with n = 3000 the binomial sd is 0.55 points, so a pass bounds the true coverage
    within about +-6.6 even on an unlucky sample. With only 8 scores the bend model average (analytics.change_point)
    is conservative where the line is right, its robust interval more so: 90.6-94.3% here (the plain model
    average 90.1-93.5%, the plain line 88.9-91.2%).
    """
    n, k, horizon, now_day = 3000, 8, 14.0, 20.0
    rng = np.random.default_rng(21)
    days = np.sort(rng.uniform(0, now_day, (n, k)), axis=1)
    future = np.c_[days, np.full(n, now_day + horizon)]
    paths = _learner_paths(kind, n, np.random.default_rng(22), future)
    scores = np.clip(paths[:, :k] + rng.normal(0, noise, (n, k)), 0, 100)
    actual = np.clip(paths[:, k] + rng.normal(0, noise, n), 0, 100)
    learner, times = np.repeat(np.arange(n), k), 1.7e9 + days.ravel() * 86400
    forecast = forecast_recent_scores(
        segments(learner, n, times), times, scores.ravel(), 1.7e9 + now_day * 86400, 8, horizon, 0.9
    )
    inside = (actual >= forecast.low - 1e-9) & (actual <= forecast.high + 1e-9)
    assert 0.85 <= inside.mean() <= 0.95, inside.mean()
    assert np.all(forecast.low <= forecast.predicted) and np.all(forecast.predicted <= forecast.high)


def test_the_bench_decliners_get_their_coverage():
    """bench/archetypes.py's decliners: flat, then falling ~2 points a day from 17 days ago, a score every 7/3 days.

    The oldest of the last 8 scores can predate the bend and the next score is often clipped at 0. Over
    n = 4000 learners the binomial sd of the share is 0.5 points. The plain model average covered 90.5%; the
    interval robust to analytics.change_point.EPSILON of the prior holds at least 90% by design, 93.5% here
    (94.1% at the former 0.1: the bend's position is uncertain by a score or two): asserted within the issue's 90 +- 5, and no lower
    than 90 - 3 (six sd), so a miss means the interval, not the sample.
    """
    n, horizon, rng = 4000, 14.0, np.random.default_rng(31)
    ago = np.arange(34.5, 0.3, -7 / 3)[None, :] - rng.uniform(0, 0.3, (n, 1))  # days before now
    level, drop = rng.uniform(72, 82, (n, 1)), rng.uniform(32, 38, (n, 1))
    mean = lambda t: level - drop * np.clip(17.0 - t, 0, None) / 17.0  # noqa: E731
    scores = np.clip(mean(ago) + rng.normal(0, 4, ago.shape), 0, 100)
    actual = np.clip(mean(np.array([[-horizon]]))[:, 0] + rng.normal(0, 4, n), 0, 100)
    now = 1.7e9
    learner, times = np.repeat(np.arange(n), ago.shape[1]), now - (ago * 86400).ravel()
    forecast = forecast_recent_scores(segments(learner, n, times), times, scores.ravel(), now, 8, horizon, 0.9)
    inside = (actual >= forecast.low - 1e-9) & (actual <= forecast.high + 1e-9)
    assert 0.87 <= inside.mean() <= 0.95, inside.mean()


def test_an_improver_heading_past_100_gets_an_honest_interval():
    scores = np.array([52.0, 60, 68, 76, 84, 92])  # +8 points a score, every two days
    times = 1.7e9 + np.arange(6) * 2 * 86400.0
    seg = segments(np.zeros(6, dtype=np.int64), 1, times)
    now = times[-1] + 86400
    forecast = forecast_recent_scores(seg, times, scores, now, 8, 14.0, 0.9)
    straight = forecast_scores(fit_recent_days(seg, times, scores, 8)[0], np.array([11.0]), 14.0, 0.9)
    assert straight.low[0] == straight.high[0] == 100.0  # what the straight line said: "100, range 100-100"
    assert forecast.bounded[0]
    assert 92 < forecast.predicted[0] <= 100 and forecast.low[0] < forecast.predicted[0] <= forecast.high[0] <= 100
    assert forecast.high[0] - forecast.low[0] > 2.0
    flat = forecast_recent_scores(seg, times, np.array([70.0, 74, 69, 72, 71, 73]), now, 8, 14.0, 0.9)
    assert not flat.bounded[0]  # inside the scale the straight line stands


def test_a_learner_inside_the_scale_gets_the_bend_average_whether_or_not_another_crosses():
    """The bent trend is computed only when some learner's line leaves 0..100; a learner whose line stays inside
    gets the model average over bends (clipped) either way, and NaN only where bounded."""
    times = 1.7e9 + np.arange(6) * 2 * 86400.0
    improver, flat = np.array([52.0, 60, 68, 76, 84, 92]), np.array([70.0, 74, 69, 72, 71, 73])
    now = times[-1] + 86400
    both = forecast_recent_scores(
        segments(np.repeat([0, 1], 6), 2, np.r_[times, times]), np.r_[times, times], np.r_[improver, flat],
        now, 8, 14.0, 0.9,
    )  # fmt: skip
    seg = segments(np.zeros(6, dtype=np.int64), 1, times)
    alone = forecast_recent_scores(seg, times, flat, now, 8, 14.0, 0.9)
    mixed = forecast_with_bends(seg, times, flat, now, 16, 14.0, 0.9)
    assert both.bounded.tolist() == [True, False] and alone.bounded.tolist() == [False]
    assert np.isnan(both.probability_changed[0]) and not np.isnan(both.probability_changed[1])
    for name in ("predicted", "low", "high"):
        assert getattr(alone, name)[0] == np.clip(getattr(mixed, name)[0], 0, 100), name
    assert alone.probability_changed[0] == mixed.probability_changed[0]
