"""Pure tests of the progress API's analytics: level rule, trends, sessions, alert types, insight sentences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analytics.alert_rules import RULES
from analytics.alert_types import ALERT_TYPES, TYPE_OF_RULE, rules_of_types
from analytics.insights import InsightFacts, learner_insights
from analytics.progress_level import LEVELS, current_levels, level_index
from analytics.progress_trends import (
    content_mix,
    daily_series,
    moving_average,
    score_change,
    study_sessions,
    volatility,
)

DAY = 86400.0
NOW = 1_000 * DAY + 12 * 3600.0  # noon of day 1000


def test_level_rule_uses_the_components_a_learner_has():
    progress = np.array([np.nan, 50.0, 90.0, np.nan, 10.0])
    average = np.array([np.nan, 65.0, 80.0, 85.0, 20.0])
    mastered = np.array([np.nan, np.nan, 0.5, np.nan, 0.0])
    index = level_index(progress, average, mastered)
    assert math.isnan(index[0]) and index[1] == pytest.approx(57.5) and index[2] == pytest.approx(220 / 3)
    assert [LEVELS[i] for i in current_levels(progress, average, mastered)] == [
        "Beginner",
        "Intermediate",
        "Advanced",
        "Advanced",
        "Beginner",
    ]
    assert LEVELS[current_levels(np.array([40.0]), np.array([np.nan]), np.array([np.nan]))[0]] == "Intermediate"


def test_alert_types_cover_every_rule():
    assert set(TYPE_OF_RULE) == set(RULES) and set(TYPE_OF_RULE.values()) <= set(ALERT_TYPES)
    assert TYPE_OF_RULE["streak_milestone"] == TYPE_OF_RULE["high_performance"] == "achievement"
    assert TYPE_OF_RULE["engagement_drop"] == "engagement" and TYPE_OF_RULE["performance_decline"] == "performance"
    assert rules_of_types(["system"]) == ["account_inactive"]
    assert not RULES["high_performance"].action_required and RULES["account_inactive"].action_required
    assert set(rules_of_types(["achievement", "at_risk"])) == {"streak_milestone", "high_performance", "at_risk"}


def test_daily_series_and_moving_average():
    times = np.array([NOW - 2 * DAY, NOW - 2 * DAY + 60, NOW - DAY, NOW, NOW + DAY])
    kind = np.array([2, 2, 0, 1, 0])
    percent = np.array([60.0, 80.0, np.nan, np.nan, np.nan])
    series = daily_series(times, kind, percent, NOW, 3)
    assert series.events.tolist() == [2, 1, 1] and series.modules.tolist() == [0, 0, 1]
    assert series.assessments.tolist() == [2, 0, 0] and series.average_score[0] == 70.0
    assert np.isnan(series.average_score[1:]).all() and series.first_day == 998 * DAY
    smooth = moving_average(np.array([np.nan, 10.0, np.nan, 30.0, 50.0]), 2)
    assert np.isnan(smooth[0]) and smooth[1:].tolist() == [10.0, 10.0, 30.0, 40.0]


def test_score_change_compares_two_windows():
    times = NOW - DAY * np.array([20, 16, 10, 3])
    change = score_change(times, np.array([50.0, 60.0, 70.0, 80.0]), NOW, 14)
    assert (change.previous, change.recent, change.change) == (55.0, 75.0, 20.0)
    assert math.isnan(score_change(times[2:], np.array([70.0, 80.0]), NOW, 14).change)


def test_sessions_content_mix_and_volatility():
    times = NOW - np.array([3 * 3600, 3 * 3600 - 600, 3 * 3600 - 1200, 600.0])
    sessions = study_sessions(times, 7, durations=np.array([0, 0, 0, 900.0]))
    assert sessions.count == 2 and sessions.median_minutes == pytest.approx(17.5)  # 20 and 15 minutes
    assert study_sessions(np.array([]), 7).count == 0
    assert content_mix(np.array([0, 0, 2, 1])) == {"activity": 0.5, "module_completed": 0.25, "assessment": 0.25}
    assert volatility(np.array([np.nan, 70.0, 80.0])) == pytest.approx(math.sqrt(50)) and math.isnan(volatility([1.0]))


FACTS = InsightFacts(
    name="Ada",
    score_change=8.2,
    recent_average=72.0,
    previous_average=63.8,
    current_streak=5,
    longest_streak=9,
    active_days_last_week=5,
    days_since_activity=0.2,
    modules_completed=3,
    total_modules=10,
    peak_period="evening",
    peak_weekday="tuesday",
    next_completion=("algebra", "2027-01-15"),
    risk_light="amber",
    risk_probability=0.42,
    top_risk_factor="days_since_progress",
)


def test_insights_speak_to_the_learner():
    assert learner_insights(FACTS, for_learner=True) == [
        "Your recent pattern suggests asking for support soon (largest factor: days since progress).",
        "Your scores rose 8 points over the last 2 weeks (from 64% to 72%).",
        "You have studied 5 days in a row; the longest run is 9 days.",
        "You were active on 5 of the last 7 days.",
        "You do most of the work in the evening, most often on Tuesdays.",
        "You have completed 3 of 10 modules (30%).",
        "At your pace, algebra will be finished around 2027-01-15.",
    ]


def test_insights_speak_to_the_educator_about_the_learner():
    sentences = learner_insights(FACTS, for_learner=False)
    assert sentences[0] == "The risk model rates Ada amber at 42% (largest factor: days since progress)."
    assert "Ada's scores rose 8 points over the last 2 weeks (from 64% to 72%)." in sentences
    assert "Ada does most of the work in the evening, most often on Tuesdays." in sentences
    assert not any("You" in s or "Your" in s for s in sentences)


def test_insights_need_numbers():
    assert learner_insights(InsightFacts(name="Bo"), for_learner=True) == []
    steady = InsightFacts(name="Bo", score_change=-1.0, recent_average=70.4, previous_average=71.4)
    assert learner_insights(steady, for_learner=False) == [
        "Bo's scores held steady at about 70% over the last 2 weeks."
    ]
    fell = InsightFacts(
        name="Bo", score_change=-12.0, recent_average=58.0, previous_average=70.0, days_since_activity=4.5
    )
    assert learner_insights(fell, for_learner=True) == [
        "Your scores fell 12 points over the last 2 weeks (from 70% to 58%).",
        "You have not been active for 4 days.",
        "You were active on 0 of the last 7 days.",
    ]
