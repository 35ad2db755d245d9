"""bench/accuracy.py's target checks say what the figures show: verdicts, marginal rows, the history filter."""

from __future__ import annotations

import numpy as np

from bench.archetypes import PLANTED_FUTURE, Learner, make_cohort, make_forecast_extras
from bench.forecast_checks import completion_error_line, coverage_rows
from bench.scoring import band_verdict, range_verdict, wilson_interval


def test_a_verdict_follows_the_point_and_says_whether_the_interval_settles_it() -> None:
    assert band_verdict([1] * 900 + [0] * 100, 0.9) == "in band (CI settles it)"  # 90.0%, CI 88.0-91.7
    assert band_verdict([1] * 9 + [0], 0.9) == "in band (CI crosses an edge)"  # 10 learners settle nothing
    assert band_verdict([1] * 700 + [0] * 300, 0.9) == "NOT in band (CI settles it)"
    assert band_verdict([1] * 17 + [0] * 3, 0.8) == "in band (CI crosses an edge)"  # 85%: on the edge
    assert band_verdict([1] * 18 + [0] * 2, 0.8) == "NOT in band (CI crosses an edge)"  # 90%, CI 69.9-97.2
    assert range_verdict([0] * 999 + [1], 0.0, 0.02, ("met", "NOT met")) == "met (CI settles it)"
    assert range_verdict([0] * 39 + [1], 0.0, 0.02, ("met", "NOT met")) == "NOT met (CI crosses an edge)"
    assert band_verdict([], 0.9) == "no learners"


def test_700_learners_a_row_give_coverages_a_ci_of_at_most_3_points() -> None:
    """Why --forecast-per-archetype defaults to 700: the Wilson half-width at 80% (and 90%) is then under 3 points."""
    low, high = wilson_interval(560, 700)
    assert (high - low) / 2 < 0.03
    low, high = wilson_interval(630, 700)
    assert (high - low) / 2 < 0.025
    low, high = wilson_interval(36, 40)  # the 40 decliners of the old end-to-end row: +-10
    assert (high - low) / 2 > 0.08


def test_forecast_extras_leave_the_cohort_as_it_was_and_never_reuse_a_name() -> None:
    cohort = make_cohort(5, 7, 14.0)
    again = make_cohort(5, 7, 14.0)
    extras = make_forecast_extras(5, 12, 7, 14.0)
    assert [x.events for x in cohort] == [x.events for x in again]
    assert len(extras) == 7 * len(PLANTED_FUTURE)
    assert {x.archetype for x in extras} == set(PLANTED_FUTURE)
    assert not {x.name for x in cohort} & {x.name for x in extras}
    assert make_forecast_extras(40, 40, 7, 14.0) == []


def _learner(archetype: str, first_day_ago: float) -> Learner:
    return Learner(f"x-{archetype}-{first_day_ago}", archetype, events=[{"days_ago": first_day_ago}])


def test_rows_per_archetype_and_a_marginal_row_over_everyone() -> None:
    outcomes = [(_learner(kind, 35.0), inside, 2.0) for kind in PLANTED_FUTURE for inside in (True, False)]
    rows = coverage_rows("completion date", 0.8, outcomes, "days")
    assert len(rows) == len(PLANTED_FUTURE) + 2
    assert rows[-1].startswith("| completion date | **all planted (marginal)** | 8 | 80% | 50.0%")
    assert "| decliner | 2 | 80% | 50.0%" in rows[len(PLANTED_FUTURE) - 1]
    assert "| 6 | 80% | 50.0%" in rows[-2]  # the three flat archetypes together


def test_the_median_error_target_reads_only_learners_with_three_weeks_of_history() -> None:
    outcomes = [(_learner("steady", 35.0), True, 3.0)] * 3 + [(_learner("steady", 10.0), True, 30.0)] * 4
    line = completion_error_line(outcomes)
    assert "(n = 3): 3.0 days" in line and line.endswith("met") and "NOT" not in line
    late = [(_learner("steady", 21.0), False, error) for error in np.arange(5.0, 12.0)]
    assert completion_error_line(late).endswith("NOT met")  # median 8 days
