"""The stack's forecast intervals for planted learners against their truth, each row checked against its target.

Completion (80%) and score (90%) intervals, per archetype and over every planted learner (the marginal
coverage): n, the stated level, the measured coverage with its 95% Wilson CI (bench.scoring.coverage_cell),
and a verdict against the issue's "stated interval coverage within +-5 points". A row checks that target
only when its CI is narrow: 400 learners for a 90% level, 700 for 80%, give a half-width under 3 points
(bench/accuracy.py --forecast-per-archetype, 700). The completion median error is checked on learners with
3+ weeks of history, as the issue states its target.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from bench.archetypes import PLANTED_FUTURE
from bench.scoring import band_verdict, coverage_cell, score_chance

COMPLETION_LEVEL, SCORE_LEVEL, BAND = 0.8, 0.9, 0.05
MIN_HISTORY_DAYS, MAX_MEDIAN_ERROR_DAYS = 21.0, 7.0


def _day(value: str | None, fallback: float) -> float:
    return fallback if value is None else float(date.fromisoformat(value).toordinal())


def completion_outcomes(learners, reports: dict[str, dict], today: date) -> list[tuple]:
    """(learner, planted finish inside the 80% interval, |predicted - planted| in days) per planted learner."""
    found = []
    for learner in learners:
        course = [c for c in reports[learner.name]["completion"] if c["course"] == "acc-c1"]
        if np.isnan(learner.finish_days) or not course:
            continue
        truth = (today + timedelta(days=float(learner.finish_days))).toordinal()
        low, high = (_day(v, f) for v, f in zip(course[0]["interval"], (-np.inf, np.inf), strict=True))
        error = abs(_day(course[0]["predicted_completion"], np.inf) - truth)
        found.append((learner, low <= truth <= high, error))
    return found


def score_outcomes(learners, reports: dict[str, dict]) -> list[tuple]:
    """(learner, exact P(next score inside the 90% interval), |predicted - true mean| in points) per planted learner."""
    found = []
    for learner in learners:
        forecast = reports[learner.name]["forecast"]
        if np.isnan(learner.future_mean) or forecast["predicted_score"] is None:
            continue
        low, high = forecast["interval"]
        chance = float(score_chance(low, high, learner.future_mean, learner.noise))
        found.append((learner, chance, abs(forecast["predicted_score"] - learner.future_mean)))
    return found


def coverage_rows(interval: str, stated: float, outcomes: list[tuple], unit: str) -> list[str]:
    """One row per archetype, one for the flat learners together, one over every planted learner (marginal)."""
    groups = [(kind, (kind,)) for kind in PLANTED_FUTURE]
    groups += [("flat (steady + noisy + high achievers)", PLANTED_FUTURE[:3]), ("**all planted (marginal)**", None)]
    rows = []
    for name, kinds in groups:
        chosen = [(inside, error) for x, inside, error in outcomes if kinds is None or x.archetype in kinds]
        inside = [c[0] for c in chosen]
        error = np.median([c[1] for c in chosen]) if chosen else float("nan")
        rows.append(
            f"| {interval} | {name} | {len(inside)} | {stated:.0%} | {coverage_cell(inside)} | "
            f"{band_verdict(inside, stated, BAND)} | {error:.1f} {unit} |"
        )
    return rows


def history_days(learner) -> float:
    """Days between the learner's first event and now."""
    return max(event["days_ago"] for event in learner.events)


def completion_error_line(outcomes: list[tuple]) -> str:
    """The issue's target as it is stated: completion median error <= 7 days, learners with 3+ weeks of history."""
    errors = [error for learner, _, error in outcomes if history_days(learner) >= MIN_HISTORY_DAYS]
    median = float(np.median(errors)) if errors else float("nan")
    verdict = "met" if median <= MAX_MEDIAN_ERROR_DAYS else "NOT met"
    return (
        f"completion median error, learners with 3+ weeks of history (n = {len(errors)}): {median:.1f} days; "
        f"target <= {MAX_MEDIAN_ERROR_DAYS:.0f} days: {verdict}"
    )


def forecast_table(learners, reports: dict[str, dict], today: date, horizon: float) -> list[str]:
    """Completion and score interval coverage per archetype and marginal, with verdicts, and the error target."""
    completion = completion_outcomes(learners, reports, today)
    header = [
        f"target: measured coverage within +-{100 * BAND:.0f} points of the stated level; verdict by the point "
        "estimate, and whether its 95% CI settles it",
        "",
        "| interval | learners | n (one forecast each) | stated | measured (95% CI) | verdict | median error |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    rows = coverage_rows("completion date", COMPLETION_LEVEL, completion, "days")
    rows += coverage_rows(f"score in {horizon:.0f} days", SCORE_LEVEL, score_outcomes(learners, reports), "points")
    return header + rows + ["", completion_error_line(completion)]
