"""completion_stagnation: the open gap judged against the learner's own pace; nothing left means no alert."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.alert_rules import RULES, evaluate
from analytics.completion import modules_left
from analytics.grouping import SECONDS_PER_DAY, sort_by_learner_time
from analytics.learner_metrics import KIND_CODES, EventArrays, compute_learner_metrics
from analytics.rule_inputs import build_rule_inputs

NOW = 1_780_000_000.0
HISTORY = 35.0


def cohort(completions: list[np.ndarray], active_until: float = 0.2) -> EventArrays:
    """Per learner: module completions (days ago); plus an activity at HISTORY days ago and one at `active_until`."""
    rows = []
    for i, days in enumerate(completions):
        rows += [(i, HISTORY, KIND_CODES["activity"]), (i, active_until, KIND_CODES["activity"])]
        rows += [(i, d, KIND_CODES["module_completed"]) for d in days]
    learner, days_ago, kind = (np.array(c) for c in zip(*rows, strict=True))
    time = NOW - days_ago.astype(float) * SECONDS_PER_DAY
    learner, time, kind = sort_by_learner_time(learner.astype(np.int64), time, kind.astype(np.int8))
    return EventArrays(len(completions), learner, time, kind, np.full(len(learner), np.nan))


def stagnation(data: EventArrays, left=None, **overrides: float):
    inputs = build_rule_inputs(
        data, compute_learner_metrics(data, NOW), np.zeros(data.n_learners), NOW, "UTC", "x", left
    )
    rule = RULES["completion_stagnation"]
    thresholds = {k: np.full(data.n_learners, float(v)) for k, v in {**rule.defaults, **overrides}.items()}
    return evaluate(rule, inputs, thresholds)


def test_no_alert_once_every_module_is_done():
    finished = np.arange(30.0, 7.0, -2.0)  # a module every 2 days, the last one 8 days ago: unusual for that pace
    data = cohort([finished, finished, finished])
    result = stagnation(data, np.array([0.0, 3.0, np.nan]))
    assert result.triggered.tolist() == [False, True, True]  # done / modules left / course unknown
    assert result.factors["modules_left"][:2].tolist() == [0.0, 3.0]


def test_the_gap_is_judged_against_the_learners_own_pace():
    fast = np.arange(30.0, 5.5, -1.0)  # a module a day, the last 6 days ago
    slow = np.arange(30.0, 5.5, -4.0)  # a module every 4 days, the last 6 days ago: a usual gap for them
    new = np.array([6.0])  # one completion: pace unknown, the plain 5-day floor decides
    recent = np.arange(30.0, 2.0, -1.0)  # fast, last module 3 days ago: under the floor
    result = stagnation(cohort([fast, slow, new, recent]))
    assert result.triggered.tolist() == [True, False, True, False]
    p = result.factors["probability_of_gap"]
    assert p[0] < 1e-3 < 0.2 < p[1] and np.isnan(p[2])
    assert result.factors["days_per_module"][1] == pytest.approx(4.0, rel=0.35)
    loose = stagnation(cohort([slow]), probability_at_most=0.5)
    assert loose.triggered[0]  # every parameter can be overridden


def test_modules_left_counts_enrolled_and_worked_courses_once_per_module():
    # modules 0, 1 in course 0; modules 2, 3, 4 in course 1; module index -1: unknown
    module_course, totals = np.array([0, 0, 1, 1, 1]), np.array([2, 3])
    rows = [  # (learner, module, kind)
        (0, 0, "module_completed"),
        (0, 1, "module_completed"),
        (0, 1, "module_completed"),  # completed twice: counts once
        (1, 2, "module_completed"),
        (1, -1, "module_completed"),  # a module nobody knows
        (2, -1, "activity"),
    ]
    learner = np.array([r[0] for r in rows])
    data = EventArrays(4, learner, np.arange(len(rows), dtype=float), np.array([KIND_CODES[r[2]] for r in rows]), None)
    module = np.array([r[1] for r in rows])
    left = modules_left(data, module, module_course, totals, (np.array([1, 3]), np.array([0, 1])))
    assert left[:2].tolist() == [0.0, 2.0 + 2.0]  # learner 1: course 1 (2 left) and enrolled in course 0 (2 left)
    assert np.isnan(left[2]) and left[3] == 3.0  # no course known / enrolled only


def simulated(shape: float, n: int, seed: int, stop: tuple[float, float] = (0.0, 0.0)) -> EventArrays:
    """Learners completing modules with Gamma(shape) gaps at 2.5-3.5 a week (bench/archetypes.py), stopping `stop` ago."""
    rng = np.random.default_rng(seed)
    rate = rng.uniform(2.5, 3.5, n) / 7
    gaps = rng.gamma(shape, 1 / (shape * rate[:, None]), (n, 60))
    ago = HISTORY - np.cumsum(gaps, axis=1)
    cut = rng.uniform(*stop, n)
    return cohort([row[row > c][:40] for row, c in zip(ago, cut, strict=True)])


@pytest.mark.parametrize(("shape", "bound"), [(4.0, 0.01), (2.0, 0.02)])
def test_steady_learners_are_rarely_flagged(shape, bound):
    """Regular completions (the bench's steady learners: Gamma(4) gaps) stay under the design's alpha."""
    for seed in (1, 2, 3):
        assert stagnation(simulated(shape, 2000, seed)).triggered.mean() <= bound, seed


def test_poisson_learners_are_flagged_about_alpha_of_the_time():
    """For exponential gaps the designed share of time flagged is alpha (0.02); the plain rule: ~12%."""
    data = simulated(1.0, 3000, 4)
    rule = stagnation(data).triggered.mean()
    plain = stagnation(data, probability_at_most=1.0).triggered.mean()
    assert rule <= 0.02 + 0.01 and rule < plain / 4, (rule, plain)  # alpha, plus sampling and estimation slack


def test_learners_who_stop_are_found():
    """Stopped 8-12 days ago at 2.5-3.5 modules a week (>= ~3 usual gaps): found at least 9 times in 10."""
    for seed in (5, 6):
        assert stagnation(simulated(4.0, 1000, seed, stop=(8.0, 12.0))).triggered.mean() >= 0.9, seed


def test_the_gap_tail_is_scipys_betaprime_tail():
    """betaprime_sf (the sweeps' cheaper form) against scipy's own, from the bulk to tiny tails."""
    from scipy import stats

    from analytics.stagnation import betaprime_sf

    rng = np.random.default_rng(7)
    k, a = rng.uniform(0.3, 8.0, 4000), 1.0 + rng.uniform(0.0, 60.0, 4000)
    x = np.concatenate([[0.0, np.nan], rng.uniform(0.0, 3.0, 2000), rng.uniform(3.0, 200.0, 1998)])
    ours, theirs = betaprime_sf(x, k, a), stats.betaprime.sf(x, k, a)
    assert np.array_equal(np.isnan(ours), np.isnan(theirs)) and ours[0] == 1.0
    assert np.allclose(ours, theirs, rtol=1e-9, atol=1e-300, equal_nan=True)
    assert (theirs[2:] < 1e-6).sum() > 100, "the comparison reaches into the far tail"
