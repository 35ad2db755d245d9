"""The alert rules as data: name, default thresholds, what each parameter means and in which unit.

Statistical design (derivations in analytics/trend_tests.py, verified by simulation in
tests/test_analytics_trend_tests.py): the decline rules need a size (a minimum drop in points)
AND evidence (a posterior probability of at least 0.995 that the level fell), so a flat learner
with noise up to 8 points raises each of them in under 2% of weeks at three scores a week.
Day-based rules count whole local days of the learner's section or course time zone (ALERT_TIME_ZONE by
default), never today's partial day.

Alert types (the product brief's `type`, shown on every alert): a property of the rule, here only.
An achievement rule is "achievement" (and needs no action); any other rule is the sweep that
evaluates it ("performance" or "engagement") unless it names its type (the "system" rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str  # "alert" or "achievement"
    sweep: str  # which periodic sweep evaluates it: "performance" or "engagement" (and events: "performance")
    title: str
    defaults: dict[str, float]
    recommendations: tuple[str, ...]
    description: str = ""
    parameters: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (meaning, unit)
    false_alarm_rate: str = ""  # what the defaults were designed for, in words
    suppressed_by: tuple[str, ...] = ()  # an achievement never shows while one of these alerts holds
    alert_type: str = ""  # one of ALERT_TYPES when it is not derived from kind and sweep (see the module doc)

    @property
    def type(self) -> str:
        """The brief's alert type of this rule's alerts."""
        if self.alert_type:
            return self.alert_type
        return "achievement" if self.kind == "achievement" else self.sweep

    @property
    def action_required(self) -> bool:
        """Whether someone should act on the alert: every alert except an achievement."""
        return self.kind != "achievement"


ALERT_TYPES = ("performance", "engagement", "achievement", "system")


NOISE = ("prior guess of the learner's score noise (standard deviation); larger is more cautious", "points")
DECLINES = ("performance_decline", "declining_trend", "baseline_decline")

RULE_LIST = (
    Rule(
        "performance_decline",
        "alert",
        "performance",
        "Scores below the pass level",
        {"average_below": 60.0, "consecutive": 2},
        ("Review the recent assessments with the learner", "Offer a revision session on the weakest topics"),
        "the average of the last `consecutive` assessments is below `average_below` percent",
        {
            "average_below": ("pass level the recent average is compared with", "percent"),
            "consecutive": ("how many of the latest assessments are averaged", "assessments"),
        },
        "not a statistical test: it states a fact about the latest scores",
    ),
    Rule(
        "declining_trend",
        "alert",
        "performance",
        "Scores falling",
        {"last_n": 8, "min_scores": 5, "min_drop_points": 10.0, "probability_at_least": 0.995, "noise_points": 6.0},
        ("Check in with the learner about recent difficulties", "Revisit the prerequisites of the current module"),
        "over the last `last_n` scores (at least `min_scores`) the fitted line falls by `min_drop_points` or more "
        "and the posterior probability that the slope is negative is at least `probability_at_least`",
        {
            "last_n": ("window: the latest scores the line is fitted to (at least min_scores)", "assessments"),
            "min_scores": ("fewest scores in the window before the rule can fire", "assessments"),
            "min_drop_points": ("smallest fall of the fitted line across the window that matters", "points"),
            "probability_at_least": ("evidence needed: posterior P(slope < 0)", "probability 0..1"),
            "noise_points": NOISE,
        },
        "flat learner, noise sd up to 8 points, 3 scores a week: at most 2% of weeks (per evaluation <= 0.5%)",
    ),
    Rule(
        "baseline_decline",
        "alert",
        "performance",
        "Below their own usual level",
        {"z_below": -2.0, "min_drop_points": 10.0, "probability_at_least": 0.995, "noise_points": 6.0},
        ("Ask what changed recently", "Compare with the learner's strongest topics"),
        "the last 3 scores sit `z_below` spreads (floored at 5 points) and at least `min_drop_points` under the "
        "learner's own earlier scores (3 or more), with posterior probability at least `probability_at_least` "
        "that their level fell",
        {
            "z_below": ("size in the learner's own spreads (floored at 5 points)", "standard deviations"),
            "min_drop_points": ("smallest drop of the recent mean under the baseline mean that matters", "points"),
            "probability_at_least": ("evidence needed: posterior P(recent level < baseline level)", "probability 0..1"),
            "noise_points": NOISE,
        },
        "flat learner, noise sd up to 8 points, 3 scores a week: at most 2% of weeks",
    ),
    Rule(
        "at_risk",
        "alert",
        "performance",
        "At risk of failing or dropping out",
        {"probability_at_least": 0.6},
        ("Plan a one-to-one conversation", "Review the factors listed with this alert"),
        "the risk model's probability is at least `probability_at_least` (learners with too little data are "
        "'unknown' and never raise it)",
        {"probability_at_least": ("risk model probability of failing or dropping out", "probability 0..1")},
        "the cut is a probability: the cold-start model's coefficients are fitted by maximum likelihood on a "
        "simulated population (analytics/cold_start_fit.json: validation calibration within 0.04 per decile), so "
        "of learners at 0.6 about 60% fail or drop in that population; the same cut starts the red light",
    ),
    Rule(
        "high_performance",
        "achievement",
        "performance",
        "High performance",
        {"average_at_least": 90.0, "min_assessments": 3, "recent_n": 5},
        ("Acknowledge the achievement", "Offer stretch material"),
        "the average of the last `recent_n` assessments (at least `min_assessments`) is at least "
        "`average_at_least` percent, and no decline alert holds for the learner",
        {
            "average_at_least": ("recent average needed", "percent"),
            "min_assessments": ("fewest assessments before it can be awarded", "assessments"),
            "recent_n": ("window: the latest assessments averaged", "assessments"),
        },
        "achievement: not awarded while performance_decline, declining_trend or baseline_decline holds",
        DECLINES,
    ),
    Rule(
        "engagement_drop",
        "alert",
        "engagement",
        "Engagement dropped",
        {"activities_per_day_below": 1.0, "days": 3, "min_history_days": 4},
        ("Send a reminder with a short next step", "Check for access or scheduling problems"),
        "fewer than `activities_per_day_below` activities on each of the last `days` whole local days (today "
        "excluded), for a learner first active at least `min_history_days` whole days ago",
        {
            "activities_per_day_below": ("activities a day counted as engaged", "activities per day"),
            "days": ("whole local days, ending yesterday, that must all be below", "days"),
            "min_history_days": ("whole days since the learner's first activity before it can fire", "days"),
        },
        "deterministic count of whole days: the same result at any hour of today",
    ),
    Rule(
        "completion_stagnation",
        "alert",
        "engagement",
        "No progress",
        {"days_without_progress": 5, "probability_at_most": 0.02, "min_modules": 3},
        ("Suggest the next module explicitly", "Check whether the learner is stuck on an assessment"),
        "no module completed for `days_without_progress`+ days, a gap that unlikely (<= `probability_at_most`) "
        "at the learner's own pace, whatever else they did; never once all modules are done",
        {
            "days_without_progress": ("floor: days since the last module completion before it can fire", "days"),
            "probability_at_most": (
                "evidence needed: P(a gap this long | the learner's own pace and regularity) at most this",
                "probability 0..1",
            ),
            "min_modules": ("completions needed to judge the learner's own pace (below: the floor alone)", "modules"),
        },
        "learner-time flagged at a steady pace: about `probability_at_most` for Poisson-like completions, well "
        "under 1% for regular ones (Gamma(4) gaps); simulated in tests/test_analytics_stagnation.py",
    ),
    Rule(
        "low_consistency",
        "alert",
        "engagement",
        "Irregular study",
        {"share_below": 0.5, "days": 7, "min_history_days": 7},
        ("Agree on a weekly study routine", "Break the work into smaller daily steps"),
        "active on fewer than `share_below` of the last `days` whole local days (today excluded), for a "
        "learner first active at least `min_history_days` whole days ago",
        {
            "share_below": ("share of active days needed", "share 0..1"),
            "days": ("whole local days, ending yesterday, in the window (at most 28)", "days"),
            "min_history_days": ("whole days since the learner's first activity before it can fire", "days"),
        },
        "deterministic count of whole days: the same result at any hour of today",
    ),
    Rule(
        "streak_milestone",
        "achievement",
        "engagement",
        "Study streak",
        {"days": 7},
        ("Celebrate the streak",),
        "active `days` days in a row",
        {"days": ("consecutive active days", "days")},
        "achievement",
    ),
    Rule(
        "account_inactive",
        "alert",
        "performance",  # evaluated on every evaluation too, so it resolves as soon as the learner is back
        "Account inactive",
        {"days": 14},
        ("Check whether the learner still takes part", "Deactivate the account or update the enrollment"),
        "no activity, module completion or assessment for `days` days (learners never active raise nothing)",
        {"days": ("days since the learner's last activity", "days")},
        "deterministic: counts days since the last activity",
        alert_type="system",
    ),
)
RULES: dict[str, Rule] = {rule.name: rule for rule in RULE_LIST}
