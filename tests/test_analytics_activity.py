"""Vectorized activity metrics against per-learner references, and their edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.activity import (
    compute_consistency,
    compute_engagement,
    compute_streaks,
    compute_velocity,
    daily_counts,
    day_numbers,
    days_since_last,
    weekly_counts,
)
from analytics.grouping import segments, sort_by_learner_time
from analytics.patterns import compute_patterns
from analytics.school import ATTENDANCE_CODES, attendance_percent, grade_average_by_subject
from tests.analytics_data import NOW, per_learner

DAY = 86400.0


def random_activity(seed: int, n_learners: int = 60):
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 40, n_learners)
    counts[:2] = [0, 1]
    learner = np.repeat(np.arange(n_learners), counts)
    times = NOW - rng.uniform(-2 * DAY, 45 * DAY, len(learner))  # includes a few future timestamps
    learner, times = sort_by_learner_time(learner, times)
    return segments(learner, n_learners, times), times


def reference_streaks(days: list[int], today: int) -> tuple[int, int]:
    unique = sorted(set(days))
    longest = current = run = 0
    for i, day in enumerate(unique):
        run = run + 1 if i and day - unique[i - 1] == 1 else 1
        longest = max(longest, run)
    if unique and unique[-1] >= today - 1:
        current = run
    return current, longest


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_daily_weekly_and_streaks_match_reference(seed):
    seg, times = random_activity(seed)
    daily = daily_counts(seg, times, NOW, 28)
    weekly = weekly_counts(daily)
    streaks = compute_streaks(seg, times, NOW)
    today = int(NOW // DAY)
    for index, (t,) in per_learner(seg, times):
        days = np.floor(t / DAY).astype(int)
        expected = [int(np.sum(days == today - 27 + k)) for k in range(28)]
        assert daily[index].tolist() == expected
        assert weekly[index].tolist() == [sum(expected[7 * w : 7 * w + 7]) for w in range(4)]
        assert (streaks.current[index], streaks.longest[index]) == reference_streaks(days.tolist(), today)
        assert streaks.active_days[index] == len(set(days.tolist()))


def test_streak_edge_cases():
    today = int(NOW // DAY)
    times = np.array(
        [
            (today - 3) * DAY,
            (today - 2) * DAY,
            (today - 1) * DAY + 5,
            (today - 1) * DAY + 9,
            (today - 10) * DAY,
            (today - 9) * DAY,
        ]
    )
    learner = np.array([0, 0, 0, 0, 1, 1])
    learner, times = sort_by_learner_time(learner, times)
    streaks = compute_streaks(segments(learner, 3, times), times, NOW)
    assert streaks.current.tolist() == [3, 0, 0]  # yesterday still counts; learner 1 broke it
    assert streaks.longest.tolist() == [3, 2, 0]
    empty = compute_streaks(segments(np.array([], dtype=np.int64), 2), np.array([]), NOW)
    assert empty.current.tolist() == [0, 0]


def test_consistency_share_and_regularity():
    daily = np.zeros((4, 14), dtype=int)
    daily[0, ::2] = 1  # every other day: share 0.5, perfectly regular
    daily[1, [0, 1, 2, 13]] = 3  # bursty: gaps 1, 1, 11
    daily[2, 5] = 1  # one active day: no regularity
    result = compute_consistency(daily)
    assert result.active_day_share.tolist() == pytest.approx([0.5, 4 / 14, 1 / 14, 0.0])
    assert result.regularity[0] == 1.0 and result.regularity[2] == 0.0 and result.regularity[3] == 0.0
    gaps = np.array([1.0, 1.0, 11.0])
    assert result.regularity[1] == pytest.approx(max(0.0, 1 - gaps.std() / gaps.mean()))
    assert result.score[0] == pytest.approx(100 * (0.7 * 0.5 + 0.3))


def test_velocity_plain_and_recency_weighted():
    # Learner 0: one module a week for four weeks; learner 1: four modules this week only.
    module_times = np.r_[NOW - DAY * np.array([24.5, 17.5, 10.5, 3.5]), NOW - DAY * np.array([3.2, 2.2, 1.2, 0.2])]
    module_learner = np.repeat([0, 1], 4)
    seg = segments(module_learner, 2, module_times)
    velocity = compute_velocity(seg, module_times, seg, module_times, NOW, window_days=28, half_life_days=7)
    assert velocity.modules_per_week.tolist() == pytest.approx([1.0, 1.0])
    assert velocity.modules_per_week_weighted[1] > 2 * velocity.modules_per_week_weighted[0]
    assert velocity.modules_per_week_weighted[0] == pytest.approx(1.0, rel=0.25)  # even spread ~ plain rate
    assert velocity.activities_per_day.tolist() == pytest.approx([4 / 28, 4 / 28])


def test_days_since_last_and_engagement_formula():
    times = np.array([NOW - 2 * DAY, NOW - 0.5 * DAY])
    seg = segments(np.array([0, 0]), 2, times)
    since = days_since_last(seg, times, NOW)
    assert since[0] == pytest.approx(0.5) and np.isnan(since[1])
    engagement = compute_engagement(np.array([2.0, 0.0]), np.array([1.0, 0.0]), since, np.array([1.0, 0.0]))
    assert engagement[0] == pytest.approx(40 + 30 + 20 * np.exp(-0.5 / 7) + 10)
    assert engagement[1] == 0.0


def test_future_events_are_not_counted_as_today():
    times = np.array([NOW + 3 * DAY])
    seg = segments(np.array([0]), 1, times)
    assert daily_counts(seg, times, NOW, 7).sum() == 0
    assert compute_velocity(seg, times, seg, times, NOW).activities_per_day[0] == 0.0


def test_patterns_by_hour_and_weekday():
    monday_9 = 1_779_100_000.0 - (1_779_100_000.0 % DAY) + 9 * 3600  # a day at 09:xx UTC
    weekday = int((monday_9 // DAY + 3) % 7)
    times = np.array([monday_9, monday_9 + 60, monday_9 + 3600 * 12])
    patterns = compute_patterns(segments(np.array([0, 0, 0]), 2, times), times)
    assert patterns.by_hour[0, 9] == 2 and patterns.by_hour[0, 21] == 1
    assert patterns.peak_hour.tolist() == [9, -1]
    assert patterns.peak_weekday[0] == weekday and patterns.by_weekday[0].sum() == 3
    assert patterns.peak_period[0] == 1  # morning


def test_attendance_and_subject_grades():
    codes = [ATTENDANCE_CODES[s] for s in ("present", "late", "absent", "excused", "present")]
    percent = attendance_percent(np.array([0, 0, 0, 0, 1]), np.array(codes), 3)
    assert percent[0] == pytest.approx(100 * 2 / 3) and percent[1] == 100.0 and np.isnan(percent[2])
    grades = grade_average_by_subject(np.array([0, 0, 1]), np.array([0, 0, 1]), np.array([80.0, 60.0, 90.0]), 2, 2)
    assert grades[0, 0] == 70.0 and np.isnan(grades[0, 1]) and grades[1, 1] == 90.0


def test_day_numbers_are_utc_days():
    assert day_numbers(np.array([0.0, DAY - 1, DAY]))[:].tolist() == [0, 0, 1]


def test_attendance_counts_codes_as_isin_would():
    """attendance_percent picks attended and countable days by comparison, as np.isin would, for any code (an
    unknown one counts as neither)."""
    rng = np.random.default_rng(5)
    for _ in range(300):
        n_learners = int(rng.integers(1, 5))
        code = rng.integers(-1, 6, int(rng.integers(0, 30)))
        learner = np.sort(rng.integers(0, n_learners, len(code)))
        attended = np.isin(code, [ATTENDANCE_CODES["present"], ATTENDANCE_CODES["late"]]).astype(float)
        countable = np.isin(code, [ATTENDANCE_CODES[s] for s in ("present", "late", "absent")]).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            want = 100.0 * (
                np.bincount(learner, weights=attended, minlength=n_learners)
                / np.bincount(learner, weights=countable, minlength=n_learners)
            )
        assert attendance_percent(learner, code, n_learners).tobytes() == want.tobytes()
