"""Alert rules: names, default thresholds (the product brief's), severity, text, factors, advice.

Every rule is evaluated for all learners at once from their metrics. Thresholds are per-learner
arrays, so overrides (course, section, learner) cost nothing extra. Severity: 0 low, 1 medium, 2 high.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analytics.grouping import Segments
from analytics.learner_metrics import LearnerMetrics

SEVERITY_LEVELS = 3  # rules return 0 (low), 1 (medium) or 2 (high): indexes into models.SEVERITIES


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str  # "alert" or "achievement"
    sweep: str  # which periodic sweep evaluates it: "performance" or "engagement" (and events: "performance")
    title: str
    defaults: dict[str, float]
    recommendations: tuple[str, ...]
    description: str = ""


RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule(
            "performance_decline",
            "alert",
            "performance",
            "Scores below the pass level",
            {"average_below": 60.0, "consecutive": 2},
            ("Review the recent assessments with the learner", "Offer a revision session on the weakest topics"),
            "the average of the last `consecutive` assessments is below `average_below` percent",
        ),
        Rule(
            "declining_trend",
            "alert",
            "performance",
            "Scores falling",
            {"last_n": 3},
            ("Check in with the learner about recent difficulties", "Revisit the prerequisites of the current module"),
            "each of the last `last_n` scores is lower than the one before",
        ),
        Rule(
            "baseline_decline",
            "alert",
            "performance",
            "Below their own usual level",
            {"z_below": -2.0},
            ("Ask what changed recently", "Compare with the learner's strongest topics"),
            "the last 3 scores sit `z_below` spreads (floored at 5 points) under the learner's own earlier scores",
        ),
        Rule(
            "at_risk",
            "alert",
            "performance",
            "At risk of failing or dropping out",
            {"probability_at_least": 0.6},
            ("Plan a one-to-one conversation", "Review the factors listed with this alert"),
            "the risk model's probability is at least `probability_at_least`",
        ),
        Rule(
            "high_performance",
            "achievement",
            "performance",
            "High performance",
            {"average_at_least": 90.0, "min_assessments": 3},
            ("Acknowledge the achievement", "Offer stretch material"),
            "the average over at least `min_assessments` assessments is at least `average_at_least` percent",
        ),
        Rule(
            "engagement_drop",
            "alert",
            "engagement",
            "Engagement dropped",
            {"activities_per_day_below": 1.0, "days": 3},
            ("Send a reminder with a short next step", "Check for access or scheduling problems"),
            "fewer than `activities_per_day_below` activities on each of the last `days` days",
        ),
        Rule(
            "completion_stagnation",
            "alert",
            "engagement",
            "No progress",
            {"days_without_progress": 5},
            ("Suggest the next module explicitly", "Check whether the learner is stuck on an assessment"),
            "no module completed and no assessment taken for `days_without_progress` days",
        ),
        Rule(
            "low_consistency",
            "alert",
            "engagement",
            "Irregular study",
            {"share_below": 0.5},
            ("Agree on a weekly study routine", "Break the work into smaller daily steps"),
            "active on fewer than `share_below` of the last 7 days",
        ),
        Rule(
            "streak_milestone",
            "achievement",
            "engagement",
            "Study streak",
            {"days": 7},
            ("Celebrate the streak",),
            "active `days` days in a row",
        ),
    )
}


def rules_for(sweep: str) -> list[Rule]:
    """The rules a sweep evaluates."""
    return [rule for rule in RULES.values() if rule.sweep == sweep]


@dataclass(frozen=True)
class RuleInputs:
    """Per-learner values the rules read beyond LearnerMetrics."""

    metrics: LearnerMetrics
    risk_probability: np.ndarray
    daily_activity: np.ndarray  # (n, days) counts, last column today
    scores_segments: Segments  # assessments, sorted by learner and time
    scores: np.ndarray  # percent per assessment
    has_history: np.ndarray  # bool: the learner has ever been active (new learners raise no inactivity alerts)


@dataclass(frozen=True)
class RuleResult:
    triggered: np.ndarray  # bool per learner
    severity: np.ndarray  # 0..2 per learner
    factors: dict[str, np.ndarray] = field(default_factory=dict)  # value arrays shown with the alert


def _last_k_mean(seg: Segments, scores: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of each learner's last k[learner] scores, and whether they have that many."""
    inside = seg.rank_from_end() < k[seg.learner]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(seg.learner, weights=scores * inside, minlength=seg.n_learners) / np.minimum(seg.counts, k)
    return mean, seg.counts >= k


def _strictly_falling(seg: Segments, scores: np.ndarray, n: np.ndarray) -> np.ndarray:
    """True where each of the last n[learner] scores is lower than the one before it."""
    rank = seg.rank_from_end()
    step_down = np.r_[False, (scores[1:] < scores[:-1]) & (seg.learner[1:] == seg.learner[:-1])]
    inside = rank < n[seg.learner] - 1  # the last n-1 steps
    falls = np.bincount(seg.learner, weights=(step_down & inside).astype(float), minlength=seg.n_learners)
    return (seg.counts >= n) & (falls >= n - 1)


def evaluate(rule: Rule, inputs: RuleInputs, thresholds: dict[str, np.ndarray]) -> RuleResult:
    """Evaluate one rule for every learner; `thresholds` holds one array per parameter."""
    m, t = inputs.metrics, thresholds
    if rule.name == "performance_decline":
        mean, enough = _last_k_mean(inputs.scores_segments, inputs.scores, t["consecutive"].astype(np.int64))
        hit = enough & (mean < t["average_below"])
        severity = np.where(mean < t["average_below"] - 20, 2, np.where(mean < t["average_below"] - 10, 1, 0))
        return RuleResult(hit, severity, {"recent_average": mean, "threshold": t["average_below"]})
    if rule.name == "declining_trend":
        hit = _strictly_falling(inputs.scores_segments, inputs.scores, t["last_n"].astype(np.int64))
        return RuleResult(
            hit,
            np.where(m.recent_average < 60, 2, 1),
            {"score_slope": m.score_slope, "recent_average": m.recent_average},
        )
    if rule.name == "baseline_decline":
        z = np.nan_to_num(m.baseline_z, nan=0.0)
        hit = z < t["z_below"]
        return RuleResult(
            hit,
            np.where(z < 2 * t["z_below"], 2, 1),
            {"baseline_z": m.baseline_z, "drop_points": m.baseline_drop, "threshold": t["z_below"]},
        )
    if rule.name == "at_risk":
        p = inputs.risk_probability
        hit = p >= t["probability_at_least"]
        return RuleResult(hit, np.where(p >= 0.8, 2, 1), {"probability": p, "threshold": t["probability_at_least"]})
    if rule.name == "high_performance":
        hit = (m.assessments >= t["min_assessments"]) & (np.nan_to_num(m.average_score) >= t["average_at_least"])
        return RuleResult(hit, np.zeros(len(hit), dtype=int), {"average_score": m.average_score})
    if rule.name == "engagement_drop":
        days = t["days"].astype(np.int64)
        window = inputs.daily_activity.shape[1]
        column = np.arange(window)[None, :] >= window - days[:, None]
        below = (inputs.daily_activity < t["activities_per_day_below"][:, None]) | ~column
        hit = inputs.has_history & below.all(axis=1)
        return RuleResult(
            hit,
            np.where(np.nan_to_num(m.days_since_activity) >= 2 * days, 2, 1),
            {"days_since_activity": m.days_since_activity, "days": t["days"]},
        )
    if rule.name == "completion_stagnation":
        since = m.days_since_progress
        hit = inputs.has_history & (np.nan_to_num(since, nan=np.inf) >= t["days_without_progress"])
        return RuleResult(
            hit,
            np.where(np.nan_to_num(since, nan=np.inf) >= 2 * t["days_without_progress"], 2, 1),
            {"days_since_progress": since, "threshold": t["days_without_progress"]},
        )
    if rule.name == "low_consistency":
        hit = inputs.has_history & (m.active_day_share < t["share_below"])
        return RuleResult(
            hit,
            np.where(m.active_day_share == 0, 1, 0),
            {"active_day_share": m.active_day_share, "threshold": t["share_below"]},
        )
    if rule.name == "streak_milestone":
        hit = m.current_streak >= t["days"]
        return RuleResult(hit, np.zeros(len(hit), dtype=int), {"current_streak": m.current_streak})
    raise KeyError(rule.name)
