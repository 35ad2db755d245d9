"""The cold-start risk model: monotone effects of the signals the alert rules use, before any labelled history.

logit P(fail or drop) = INTERCEPT + sum of COEFFICIENTS[s] * signal s, every coefficient >= 0,
and every signal non-negative and non-decreasing in the risk it names, so each effect is monotone:
  below_pass       (70 - recent average of the last 5 scores) / 10, floored at 0   [tens of points]
  baseline_drop    (earlier mean - mean of the last 3 scores) / 10, floored at 0   [tens of points]
  inactive_weeks   days since the last activity / 7, capped at 4                   [weeks]
  engagement_fall  1 - recency-weighted / plain activities per day, 0..1           [share]
  pace_gap         1 - modules per week / PLAN_MODULES_PER_WEEK, 0..1              [share of plan]
  stalled_weeks    (days without a module or assessment - 7) / 7, 0..4             [weeks]
  silence_surprise days since the last activity x the learner's activities per day, capped at 20:
                   -log P(no activity for that long) for a Poisson learner at their own rate, so a
                   silence counts by how unlike the learner it is (a regular learner's week away
                   weighs more than an occasional learner's). Events that come in clumps (many on
                   one day) overstate the rate: such learners look more surprising  [nats]
The coefficients and intercept are FITTED, not set by hand: maximum likelihood with coefficients
>= 0 on a simulated training population (analytics/risk_population.py, its assumptions stated
there; analytics/risk_fit.py; the numbers, seed and validation quality are in cold_start_fit.json,
reproduced by tests/test_analytics_risk_fit.py). They are a prior, not a fit to this platform: the
trained model replaces them once enough labelled learners exist. Too little data (fewer than
MIN_ASSESSMENTS scores and active in the last INACTIVE_KNOWN_DAYS days) gives an unknown
probability (NaN, grey light), not red.
"""

from __future__ import annotations

import json
from pathlib import Path

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
SIGNALS = (
    "below_pass",
    "baseline_drop",
    "inactive_weeks",
    "engagement_fall",
    "pace_gap",
    "stalled_weeks",
    "silence_surprise",
)
SIGNAL_FEATURE = (0, 1, 2, 3, 4, 5, 2)  # the FEATURES column each signal's contribution is reported under
FIT = json.loads(Path(__file__).with_name("cold_start_fit.json").read_text())
assert tuple(FIT["signals"]) == SIGNALS, "cold_start_fit.json is stale: run python -m analytics.risk_fit"
COEFFICIENTS = np.array(FIT["coefficients"], dtype=float)  # per unit of each signal, log-odds
INTERCEPT = float(FIT["intercept"])
MAX_SURPRISE = 20.0
PASS_LEVEL = 70.0  # a recent average under this adds risk (10 points above the default 60% pass mark)
PLAN_MODULES_PER_WEEK = 1.0
MIN_ASSESSMENTS = 3
INACTIVE_KNOWN_DAYS = 7.0


def signals(X: np.ndarray) -> np.ndarray:
    """(n, 7) non-negative signals from the (n, 8) FEATURES matrix; missing values add no risk."""
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
                np.clip(np.maximum(inactive, 0.0) * np.maximum(plain, 0.0), 0.0, MAX_SURPRISE),
            ]
        ),
        nan=0.0,
    )


def known(X: np.ndarray) -> np.ndarray:
    """Enough data to say anything: some scores, or a week of silence (which is itself informative)."""
    assessments, inactive = X[:, FEATURES.index("assessments")], X[:, FEATURES.index("days_since_activity")]
    # NaN compares False, as nan_to_num's 0 would against these positive thresholds (and +-inf as its +-max)
    return (assessments >= MIN_ASSESSMENTS) | (inactive >= INACTIVE_KNOWN_DAYS)


def feature_coefficients(coefficients: np.ndarray = COEFFICIENTS) -> np.ndarray:
    """Log-odds per unit of signal, summed onto the FEATURES column each signal is reported under."""
    return np.bincount(SIGNAL_FEATURE, weights=coefficients, minlength=len(FEATURES))


def contributions(X: np.ndarray) -> np.ndarray:
    """(n, 8) log-odds added under each FEATURES column (silence_surprise under days_since_activity)."""
    added = signals(X) * COEFFICIENTS
    out = np.zeros((len(X), len(FEATURES)))
    for signal, column in enumerate(SIGNAL_FEATURE):
        out[:, column] += added[:, signal]
    return out
