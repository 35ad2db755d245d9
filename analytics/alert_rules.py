"""Alert rules evaluated for all learners at once from their metrics; the catalog is analytics.rule_catalog.

Thresholds are per-learner arrays, so overrides (course, section, learner) cost nothing extra.
Severity: 0 low, 1 medium, 2 high.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from analytics.grouping import Segments
from analytics.learner_metrics import LearnerMetrics
from analytics.rule_catalog import RULES, Rule
from analytics.stagnation import GapTest
from analytics.trend_tests import baseline_shift_test, recent_slope_test

__all__ = ["RULES", "Rule", "RuleInputs", "RuleResult", "evaluate", "evaluate_many", "rules_for"]
BASELINE_RECENT, BASELINE_MIN_HISTORY, SPREAD_FLOOR = 3, 3, 5.0


def rules_for(sweep: str) -> list[Rule]:
    """The rules a sweep evaluates."""
    return [rule for rule in RULES.values() if rule.sweep == sweep]


@dataclass(frozen=True)
class RuleInputs:
    """Per-learner values the rules read beyond LearnerMetrics."""

    metrics: LearnerMetrics
    risk_probability: np.ndarray  # NaN where the risk is unknown (too little data)
    whole_days: np.ndarray  # (n, days) activity counts per whole local day, oldest first, last column yesterday
    history_days: np.ndarray  # whole local days since the learner's first activity (0 = first seen today)
    scores_segments: Segments  # assessments, sorted by learner and time
    scores: np.ndarray  # percent per assessment
    days_since_module: np.ndarray  # days since the last module completion, or since the first activity if none
    has_history: np.ndarray  # bool: the learner has ever been active (new learners raise no inactivity alerts)
    risk_model: str = "cold_start"  # which risk model produced risk_probability
    completion_gaps: GapTest | None = None  # the open gap since the last module against the learner's own pace
    modules_left: np.ndarray | None = None  # modules still to complete in the learner's courses; NaN unknown


@dataclass(frozen=True)
class RuleResult:
    triggered: np.ndarray  # bool per learner
    severity: np.ndarray  # 0..2 per learner: an index into models.SEVERITIES (low, medium, high)
    factors: dict[str, np.ndarray] = field(default_factory=dict)  # value arrays shown with the alert


def _last_k_mean(seg: Segments, scores: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of each learner's last k[learner] scores, and whether they have that many."""
    inside = seg.rank_from_end() < k[seg.learner]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(seg.learner, weights=scores * inside, minlength=seg.n_learners) / np.minimum(seg.counts, k)
    return mean, seg.counts >= k


def _performance_decline(inputs: RuleInputs, t: dict[str, np.ndarray]) -> RuleResult:
    mean, enough = _last_k_mean(inputs.scores_segments, inputs.scores, t["consecutive"].astype(np.int64))
    hit = enough & (mean < t["average_below"])
    severity = np.where(mean < t["average_below"] - 20, 2, np.where(mean < t["average_below"] - 10, 1, 0))
    return RuleResult(hit, severity, {"recent_average": mean, "threshold": t["average_below"]})


def _declining_trend(inputs: RuleInputs, t: dict[str, np.ndarray]) -> RuleResult:
    window = np.maximum(t["last_n"], t["min_scores"]).astype(np.int64)  # an old override of last_n=3 still works
    test = recent_slope_test(inputs.scores_segments, inputs.scores, window, t["noise_points"])
    probability = np.nan_to_num(test.probability_negative)
    drop = np.nan_to_num(test.drop)
    hit = (test.points >= t["min_scores"]) & (drop >= t["min_drop_points"]) & (probability >= t["probability_at_least"])
    recent = inputs.metrics.recent_average
    return RuleResult(
        hit,
        np.where(np.nan_to_num(recent, nan=100) < 60, 2, np.where(drop >= 2 * t["min_drop_points"], 1, 0)),
        {
            "score_slope": test.slope,
            "slope_stderr": test.stderr,
            "drop_points": test.drop,
            "probability_declining": test.probability_negative,
            "window_scores": test.points,
            "recent_average": recent,
        },
    )


def _baseline_decline(inputs: RuleInputs, t: dict[str, np.ndarray]) -> RuleResult:
    test = baseline_shift_test(
        inputs.scores_segments, inputs.scores, BASELINE_RECENT, BASELINE_MIN_HISTORY, t["noise_points"]
    )
    z = np.nan_to_num(inputs.metrics.baseline_z, nan=0.0)
    hit = (
        (z < t["z_below"])
        & (np.nan_to_num(test.drop) >= t["min_drop_points"])
        & (np.nan_to_num(test.probability_lower) >= t["probability_at_least"])
    )
    return RuleResult(
        hit,
        np.where(z < 2 * t["z_below"], 2, 1),
        {
            "baseline_z": inputs.metrics.baseline_z,
            "drop_points": test.drop,
            "probability_lower": test.probability_lower,
            "threshold": t["z_below"],
        },
    )


def _at_risk(inputs: RuleInputs, t: dict[str, np.ndarray]) -> RuleResult:
    p = inputs.risk_probability
    hit = np.nan_to_num(p, nan=0.0) >= t["probability_at_least"]
    return RuleResult(
        hit,
        np.where(p >= 0.8, 2, 1),
        {"probability": p, "threshold": t["probability_at_least"], "model": np.full(len(p), inputs.risk_model)},
    )


def _high_performance(inputs: RuleInputs, t: dict[str, np.ndarray]) -> RuleResult:
    mean, _ = _last_k_mean(inputs.scores_segments, inputs.scores, t["recent_n"].astype(np.int64))
    m = inputs.metrics
    hit = (m.assessments >= t["min_assessments"]) & (np.nan_to_num(mean) >= t["average_at_least"])
    return RuleResult(hit, np.zeros(len(hit), dtype=int), {"recent_average": mean, "average_score": m.average_score})


def _window_days(inputs: RuleInputs, t: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per learner: mask of the last t["days"] whole days, the days, and whether history is long enough."""
    window = inputs.whole_days.shape[1]
    days = np.clip(t["days"].astype(np.int64), 1, window)
    column = np.arange(window)[None, :] >= window - days[:, None]
    enough = inputs.has_history & (inputs.history_days >= np.minimum(t["min_history_days"], window))
    return column, days, enough


def _engagement_drop(inputs: RuleInputs, t: dict[str, np.ndarray]) -> RuleResult:
    column, days, enough = _window_days(inputs, t)
    below = (inputs.whole_days < t["activities_per_day_below"][:, None]) | ~column
    hit = enough & below.all(axis=1)
    since = inputs.metrics.days_since_activity
    return RuleResult(
        hit,
        np.where(np.nan_to_num(since) >= 2 * days, 2, 1),
        {"days_since_activity": since, "days": t["days"], "history_days": inputs.history_days},
    )


def _completion_stagnation(inputs: RuleInputs, t: dict[str, np.ndarray]) -> RuleResult:
    since = inputs.days_since_module
    limit = t["days_without_progress"]
    n = len(since)
    gaps = inputs.completion_gaps
    probability = gaps.probability if gaps is not None else np.full(n, np.nan)
    completions = gaps.completions if gaps is not None else np.zeros(n)
    pace_known = completions >= t["min_modules"]  # below it, the plain `days_without_progress` rule decides
    unusual = ~pace_known | (np.nan_to_num(probability, nan=1.0) <= t["probability_at_most"])
    left = inputs.modules_left if inputs.modules_left is not None else np.full(n, np.nan)
    hit = inputs.has_history & (np.nan_to_num(since, nan=-np.inf) >= limit) & unusual & ~(left <= 0)
    activity = inputs.metrics.days_since_activity
    stuck = np.nan_to_num(activity, nan=np.inf) < limit  # still active inside the stagnation window
    return RuleResult(
        hit,
        np.where(np.nan_to_num(since) >= 2 * limit, 2, 1),
        {
            "days_since_module": since,
            "days_since_progress": since,  # the name earlier alerts used
            "days_since_activity": activity,
            "probability_of_gap": np.where(pace_known, probability, np.nan),
            "days_per_module": np.where(pace_known, gaps.pace_days, np.nan) if gaps is not None else np.full(n, np.nan),
            "modules_left": left,
            "state": np.where(stuck, "active_but_stuck", "inactive"),
            "threshold": limit,
        },
    )


def _low_consistency(inputs: RuleInputs, t: dict[str, np.ndarray]) -> RuleResult:
    column, days, enough = _window_days(inputs, t)
    share = ((inputs.whole_days > 0) & column).sum(axis=1) / days
    hit = enough & (share < t["share_below"])
    return RuleResult(
        hit, np.where(share == 0, 1, 0), {"active_day_share": share, "days": days, "threshold": t["share_below"]}
    )


def _streak_milestone(inputs: RuleInputs, t: dict[str, np.ndarray]) -> RuleResult:
    hit = inputs.metrics.current_streak >= t["days"]
    return RuleResult(hit, np.zeros(len(hit), dtype=int), {"current_streak": inputs.metrics.current_streak})


def _account_inactive(inputs: RuleInputs, t: dict[str, np.ndarray]) -> RuleResult:
    since = inputs.metrics.days_since_activity
    hit = inputs.has_history & (np.nan_to_num(since, nan=-np.inf) >= t["days"])
    return RuleResult(
        hit,
        np.where(np.nan_to_num(since) >= 2 * t["days"], 2, 1),
        {"days_since_activity": since, "threshold": t["days"]},
    )


EVALUATORS: dict[str, Callable[[RuleInputs, dict[str, np.ndarray]], RuleResult]] = {
    "performance_decline": _performance_decline,
    "declining_trend": _declining_trend,
    "baseline_decline": _baseline_decline,
    "at_risk": _at_risk,
    "high_performance": _high_performance,
    "engagement_drop": _engagement_drop,
    "completion_stagnation": _completion_stagnation,
    "low_consistency": _low_consistency,
    "streak_milestone": _streak_milestone,
    "account_inactive": _account_inactive,
}


def evaluate(rule: Rule, inputs: RuleInputs, thresholds: dict[str, np.ndarray]) -> RuleResult:
    """Evaluate one rule for every learner; `thresholds` holds one array per parameter."""
    return EVALUATORS[rule.name](inputs, thresholds)


def needed_rules(rules: Iterable[Rule]) -> list[Rule]:
    """The rules plus those that can suppress them (their thresholds must be resolved too)."""
    names = {rule.name for rule in rules} | {name for rule in rules for name in rule.suppressed_by}
    return [RULES[name] for name in RULES if name in names]


def evaluate_many(
    rules: Iterable[Rule], inputs: RuleInputs, thresholds: dict[str, dict[str, np.ndarray]]
) -> dict[str, RuleResult]:
    """Evaluate rules; an achievement is withheld where one of its `suppressed_by` alerts holds."""
    rules = list(rules)
    results = {rule.name: evaluate(rule, inputs, thresholds[rule.name]) for rule in needed_rules(rules)}
    out = {}
    for rule in rules:
        result = results[rule.name]
        blocked = np.zeros(len(result.triggered), dtype=bool)
        for name in rule.suppressed_by:
            blocked |= results[name].triggered
        out[rule.name] = RuleResult(result.triggered & ~blocked, result.severity, result.factors)
    return out
