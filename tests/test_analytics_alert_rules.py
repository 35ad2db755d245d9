"""Each rule's edge cases on hand-made learners: pure analytics, no app."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from analytics.alert_rules import RULES, evaluate, evaluate_many
from analytics.grouping import SECONDS_PER_DAY, sort_by_learner_time
from analytics.learner_metrics import KIND_CODES, EventArrays, compute_learner_metrics
from analytics.rule_inputs import build_rule_inputs

MIDNIGHT = datetime(2026, 3, 16, tzinfo=UTC).timestamp()  # a Monday, 00:00 UTC


def events(*learners: list[tuple[float, str, float]]) -> EventArrays:
    """One list per learner of (days before MIDNIGHT, kind, percent) -> sorted EventArrays."""
    rows = [
        (i, MIDNIGHT - d * SECONDS_PER_DAY, KIND_CODES[k], p) for i, rows in enumerate(learners) for d, k, p in rows
    ]
    learner, time, kind, percent = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
    learner, time, kind, percent = sort_by_learner_time(learner.astype(np.int64), time, kind.astype(np.int8), percent)
    return EventArrays(len(learners), learner, time, kind, percent)


def run(name: str, data: EventArrays, now: float, zone: str = "UTC", risk=None, **overrides: float):
    metrics = compute_learner_metrics(data, now)
    risk = np.zeros(data.n_learners) if risk is None else np.asarray(risk, dtype=float)
    inputs = build_rule_inputs(data, metrics, risk, now, zone)
    thresholds = {k: np.full(data.n_learners, float(v)) for k, v in {**RULES[name].defaults, **overrides}.items()}
    return evaluate(RULES[name], inputs, thresholds)


def active_days(days, kind: str = "activity", percent: float = np.nan) -> list[tuple[float, str, float]]:
    return [(d - 0.5, kind, percent) for d in days]  # midday of the day `d` days before MIDNIGHT's day


def scores(values, start_day: float = 20) -> list[tuple[float, str, float]]:
    return [(start_day - i, "assessment", v) for i, v in enumerate(values)]


@pytest.mark.parametrize("rule", ["engagement_drop", "low_consistency"])
def test_day_rules_do_not_change_with_the_hour_of_today(rule):
    quiet = active_days([4, 5, 6, 7, 8, 9, 10])  # nothing in the last 3 whole days
    data = events(quiet, active_days(range(1, 11)))
    results = [run(rule, data, MIDNIGHT + hour * 3600).triggered.tolist() for hour in (0.5, 12, 23.5)]
    assert results[0] == results[1] == results[2]
    assert results[0][1] is False  # the learner active every whole day is fine even at 00:30
    late = events(quiet + [(-0.9, "activity", np.nan)])  # active today: today never counts
    assert (
        run(rule, late, MIDNIGHT + 23 * 3600).triggered[0]
        == run(rule, events(quiet), MIDNIGHT + 23 * 3600).triggered[0]
    )


def test_engagement_drop_counts_days_of_the_configured_zone():
    # Active at 23:30 UTC on each of the last 3 UTC days: in Tokyo (UTC+9) those are the next local days,
    # so yesterday-in-Tokyo has an activity only from the one on the UTC day before.
    rows = [(d - 23.5 / 24, "activity", np.nan) for d in (1, 2, 3, 4, 5, 6, 7, 8)]
    now = MIDNIGHT + 10 * 3600  # 19:00 in Tokyo, 10:00 UTC
    assert not run("engagement_drop", events(rows), now, "UTC").triggered[0]
    assert not run("engagement_drop", events(rows), now, "Asia/Tokyo").triggered[0]
    gap = [(d - 23.5 / 24, "activity", np.nan) for d in (4, 5, 6, 7, 8)]  # last UTC activity: 3 days ago 23:30
    assert run("engagement_drop", events(gap), now, "UTC").triggered[0]
    assert not run("engagement_drop", events(gap), now, "Asia/Tokyo").triggered[
        0
    ]  # that was Tokyo's day before yesterday


def test_each_learner_counts_the_days_of_their_own_zone():
    gap = [(d - 23.5 / 24, "activity", np.nan) for d in (4, 5, 6, 7, 8)]  # 23:30 UTC, 4 to 8 days ago
    data, now = events(gap, gap, gap), MIDNIGHT + 10 * 3600
    zones = np.array(["UTC", "Asia/Tokyo", "America/Lima"], dtype=object)
    metrics = compute_learner_metrics(data, now)
    inputs = build_rule_inputs(data, metrics, np.zeros(3), now, zones)
    thresholds = {k: np.full(3, float(v)) for k, v in RULES["engagement_drop"].defaults.items()}
    mixed = evaluate(RULES["engagement_drop"], inputs, thresholds).triggered.tolist()
    alone = [run("engagement_drop", events(gap), now, zone).triggered[0] for zone in zones]
    assert mixed == alone == [True, False, True]  # one call, three zones: the same as one zone at a time
    utc, tokyo, lima = (np.flatnonzero(row).tolist() for row in inputs.whole_days)
    assert lima == utc and tokyo == [day + 1 for day in utc]  # 23:30 UTC: same day in Lima, next day in Tokyo


def test_day_rules_need_a_minimum_history():
    newcomer = [(-0.5, "activity", np.nan)]  # first seen today at noon: yesterday and before were empty
    old_timer = active_days([5, 20])
    data, now = events(newcomer, old_timer), MIDNIGHT + 13 * 3600
    assert run("low_consistency", data, now).triggered.tolist() == [False, True]
    assert run("engagement_drop", data, now).triggered.tolist() == [False, True]
    assert run("low_consistency", data, now, min_history_days=0).triggered.tolist() == [True, True]


def test_stagnation_is_about_modules_and_says_why():
    retrying = active_days(range(1, 12), "assessment", 60.0) + active_days([12], "module_completed")
    vanished = active_days(range(8, 13)) + active_days([12], "module_completed")
    newcomer = active_days([1, 2], "assessment", 70.0)
    finisher = active_days(range(1, 12)) + active_days([1], "module_completed")
    result = run("completion_stagnation", events(retrying, vanished, newcomer, finisher), MIDNIGHT)
    assert result.triggered.tolist() == [True, True, False, False]
    assert result.factors["state"][:2].tolist() == ["active_but_stuck", "inactive"]
    assert result.factors["days_since_module"][0] == pytest.approx(11.5)


def test_high_performance_reads_the_recent_window_and_yields_to_declines():
    drifter = scores([97, 98, 96, 97, 98, 97, 96, 98, 97, 96, 97, 98, 80, 77, 75])  # all-time average ~93
    star = scores([93, 95, 94, 92, 95, 94])
    data = events(drifter, star)
    assert run("high_performance", data, MIDNIGHT).triggered.tolist() == [False, True]
    thresholds = {r: {k: np.full(2, float(v)) for k, v in RULES[r].defaults.items()} for r in RULES}
    inputs = build_rule_inputs(data, compute_learner_metrics(data, MIDNIGHT), np.zeros(2), MIDNIGHT)
    thresholds["high_performance"]["recent_n"][:] = 12  # recent average of the drifter now >= 90 ...
    results = evaluate_many([RULES["high_performance"]], inputs, thresholds)
    assert results["high_performance"].triggered.tolist() == [False, True]  # ... but a decline holds
    assert evaluate(RULES["high_performance"], inputs, thresholds["high_performance"]).triggered[0]


def test_declining_trend_needs_size_and_evidence():
    noisy_decliner = scores([90, 88, 85, 83, 80, 78, 74, 71, 68, 64, 61, 66])  # last score ticks up
    flat_falling_three = scores([70, 64, 75, 68, 72, 79, 72, 66])  # noise whose last three happen to fall
    tiny = scores([80, 79.5, 79, 78.5, 78, 77.5, 77, 76.5])  # a steady but small fall: 3.5 points
    short = scores([90, 70, 50])  # fewer than min_scores
    result = run("declining_trend", events(noisy_decliner, flat_falling_three, tiny, short), MIDNIGHT)
    assert result.triggered.tolist() == [True, False, False, False]
    assert result.factors["probability_declining"][0] > 0.995 and result.factors["drop_points"][2] < 10
    loose = run("declining_trend", events(tiny), MIDNIGHT, min_drop_points=3, probability_at_least=0.7)
    assert loose.triggered[0]  # every threshold can be overridden
    steep = scores([95, 88, 80, 72, 64, 56, 48])
    legacy = run("declining_trend", events(steep), MIDNIGHT, last_n=3)  # the old rule's override
    assert legacy.triggered[0] and legacy.factors["window_scores"][0] == 5  # the window is at least min_scores


def test_baseline_decline_needs_size_and_evidence():
    dropped = scores([95, 96, 94, 95, 96, 80, 78, 76])
    steady_dip = scores([80, 81, 80, 79, 80, 77, 76, 77])  # a 3-point dip is not a decline
    result = run("baseline_decline", events(dropped, steady_dip), MIDNIGHT)
    assert result.triggered.tolist() == [True, False]
    assert result.factors["drop_points"][0] == pytest.approx(95.2 - 78)


def test_unknown_risk_never_raises_at_risk():
    data = events(active_days([1]), active_days([1]), active_days([1]))
    result = run("at_risk", data, MIDNIGHT, risk=[np.nan, 0.7, 0.2])
    assert result.triggered.tolist() == [False, True, False]


def test_account_inactive_counts_days_since_any_activity_and_skips_never_active_learners():
    data = events(active_days([20, 21]), active_days([13, 30]), [(5, "assessment", 80.0)])
    assert run("account_inactive", data, MIDNIGHT).triggered.tolist() == [True, False, False]
    assert run("account_inactive", data, MIDNIGHT, days=10).triggered.tolist() == [True, True, False]
    result = run("account_inactive", data, MIDNIGHT, days=9)
    assert result.severity.tolist()[:2] == [2, 1]  # twice the threshold: high
    assert result.factors["days_since_activity"][0] == pytest.approx(19.5)
    assert RULES["account_inactive"].type == "system" and RULES["account_inactive"].action_required
    assert (RULES["streak_milestone"].type, RULES["streak_milestone"].action_required) == ("achievement", False)
