"""The cold-start risk model: monotone effects of the signals the alert rules use, before any labelled history.

logit P(fail or drop) = INTERCEPT + sum of COEFFICIENTS[s] * signal s, every coefficient positive,
and every signal non-negative and non-decreasing in the risk it names, so each effect is monotone:
  below_pass       (70 - recent average of the last 5 scores) / 10, floored at 0   [tens of points]
  baseline_drop    (earlier mean - mean of the last 3 scores) / 10, floored at 0   [tens of points]
  inactive_weeks   days since the last activity / 7, capped at 4                   [weeks]
  engagement_fall  1 - recency-weighted / plain activities per day, 0..1           [share]
  pace_gap         1 - modules per week / PLAN_MODULES_PER_WEEK, 0..1              [share of plan]
  stalled_weeks    (days without a module or assessment - 7) / 7, 0..4             [weeks]
The coefficients started from a logistic regression on analytics.synthetic cohorts (decliners,
dropouts and stagnators labelled at risk), were rounded, and the inactivity and engagement-fall
effects raised so a regular learner silent for more than a week is red; tests/test_analytics_models.py
checks ROC AUC, Brier score and calibration on a fresh synthetic seed, bench/accuracy.py on its
own archetypes (bench/RESULTS.md). They are a prior, not a fit: the trained model replaces them. Too little data (fewer than MIN_ASSESSMENTS scores and active
in the last INACTIVE_KNOWN_DAYS days) gives an unknown probability (NaN, grey light), not red.
"""

from __future__ import annotations

import numpy as np

FEATURES = (
    "recent_average",
    "baseline_drop",
    "days_since_activity",
    "activities_per_day_weighted",
    "modules_per_week",
    "days_since_progress",
    "activities_per_day",
    "assessments",
)
SIGNALS = ("below_pass", "baseline_drop", "inactive_weeks", "engagement_fall", "pace_gap", "stalled_weeks")
COEFFICIENTS = np.array([1.0, 2.0, 2.0, 3.0, 0.8, 1.5])  # per unit of each signal, log-odds
INTERCEPT = -4.0
PASS_LEVEL = 70.0  # a recent average under this adds risk (10 points above the default 60% pass mark)
PLAN_MODULES_PER_WEEK = 1.0
MIN_ASSESSMENTS = 3
INACTIVE_KNOWN_DAYS = 7.0


def signals(X: np.ndarray) -> np.ndarray:
    """(n, 6) non-negative signals from the (n, 8) FEATURES matrix; missing values add no risk."""
    recent, drop, inactive, weighted, modules, stalled, plain, _ = (X[:, i] for i in range(len(FEATURES)))
    with np.errstate(invalid="ignore", divide="ignore"):
        fall = np.where(plain > 0, 1.0 - weighted / plain, np.where(np.isnan(plain), 0.0, 1.0))
    return np.nan_to_num(
        np.column_stack(
            [
                np.maximum(PASS_LEVEL - recent, 0.0) / 10,
                np.maximum(drop, 0.0) / 10,
                np.clip(inactive, 0.0, 28.0) / 7,
                np.clip(fall, 0.0, 1.0),
                np.clip(1.0 - modules / PLAN_MODULES_PER_WEEK, 0.0, 1.0),
                np.clip(stalled - 7.0, 0.0, 28.0) / 7,
            ]
        ),
        nan=0.0,
    )


def known(X: np.ndarray) -> np.ndarray:
    """Enough data to say anything: some scores, or a week of silence (which is itself informative)."""
    assessments, inactive = X[:, FEATURES.index("assessments")], X[:, FEATURES.index("days_since_activity")]
    return (np.nan_to_num(assessments) >= MIN_ASSESSMENTS) | (np.nan_to_num(inactive) >= INACTIVE_KNOWN_DAYS)


def contributions(X: np.ndarray) -> np.ndarray:
    """(n, 8) log-odds added by each FEATURES column (signal i sits on feature i; the last two add 0)."""
    out = np.zeros((len(X), len(FEATURES)))
    out[:, : len(SIGNALS)] = signals(X) * COEFFICIENTS
    return out
