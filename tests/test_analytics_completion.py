"""Per (learner, course) completion inputs against a straightforward per-pair reference."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.completion import course_progress
from analytics.forecast import cohort_prior
from analytics.grouping import sort_by_learner_time
from analytics.learner_metrics import EventArrays
from tests.analytics_data import NOW

DAY = 86400.0


def test_course_progress_matches_a_per_pair_reference():
    rng = np.random.default_rng(4)
    n_learners, n_modules = 30, 12
    module_course = np.repeat([0, 1, 2], 4)  # 3 courses of 4 modules
    totals = np.array([4, 4, 4])
    n = 600
    learner, time = rng.integers(0, n_learners, n), NOW - rng.uniform(0, 60 * DAY, n)
    kind, module = rng.choice([0, 1], n, p=[0.8, 0.2]).astype(np.int8), rng.integers(-1, n_modules, n)
    learner, time, kind, module = sort_by_learner_time(learner, time, kind, module)
    events = EventArrays(n_learners, learner, time, kind, np.full(n, np.nan))
    progress = course_progress(events, module, module_course, totals, NOW)
    seen = set()
    for i, (l, c) in enumerate(zip(progress.learner, progress.course)):
        mine = (learner == l) & (module >= 0) & (module_course[np.maximum(module, 0)] == c)
        assert mine.any()
        seen.add((l, c))
        done = {m for m in module[mine & (kind == 1)]}
        assert progress.completed[i] == len(done)
        assert progress.exposure_days[i] == pytest.approx((NOW - time[mine].min()) / DAY)
    assert seen == {(l, module_course[m]) for l, m in zip(learner, module) if m >= 0}
    assert np.all(progress.forecast.median_days[progress.completed < 4] > 0)
    shape, days = cohort_prior(progress.course, progress.completed, progress.exposure_days, 3)
    given = course_progress(events, module, module_course, totals, NOW, prior=(shape, days))
    assert np.allclose(given.forecast.median_days, progress.forecast.median_days, equal_nan=True)
    fixed = course_progress(events, module, module_course, totals, NOW, prior=(np.ones(3), np.full(3, 7.0)))
    assert not np.allclose(fixed.forecast.rate_per_week, progress.forecast.rate_per_week)  # the course prior counts


def test_no_module_events_give_no_pairs():
    events = EventArrays(
        2, np.array([0, 1]), np.array([NOW - DAY, NOW]), np.array([0, 0], dtype=np.int8), np.full(2, np.nan)
    )
    progress = course_progress(events, np.array([-1, -1]), np.array([0]), np.array([3]), NOW)
    assert len(progress.learner) == 0
