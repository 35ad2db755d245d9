"""Effective rule thresholds per learner: learner > section > course > global override > default."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from analytics.alert_rules import RULES, Rule
from models import Enrollment, Section, ThresholdOverride, db
from models.upsert import chunks_in

SCOPE_ORDER = ("global", "course", "section", "learner")  # later scopes win
ACTIVITY_WINDOW_DAYS = 14  # the daily-activity window the engagement rules see (services/monitoring.build_inputs)


@dataclass(frozen=True)
class ParameterRange:
    """The values a rule parameter can meaningfully take: percents, probabilities, counts of days."""

    minimum: float
    maximum: float
    whole: bool = False

    def problem(self, value: object) -> str | None:
        """Why `value` cannot be used, or None."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "must be a number"
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        if not self.minimum <= value <= self.maximum:  # exact for huge ints too: no float conversion
            return f"must be between {self.minimum:g} and {self.maximum:g}"
        if self.whole and value != int(value):
            return "must be a whole number"
        return None


PERCENT, SHARE = ParameterRange(0, 100), ParameterRange(0, 1)
PARAMETER_RANGES: dict[str, dict[str, ParameterRange]] = {
    "performance_decline": {"average_below": PERCENT, "consecutive": ParameterRange(1, 50, whole=True)},
    "declining_trend": {"last_n": ParameterRange(2, 50, whole=True)},  # a fall needs two scores
    "baseline_decline": {"z_below": ParameterRange(-10, 0)},
    "at_risk": {"probability_at_least": SHARE},
    "high_performance": {"average_at_least": PERCENT, "min_assessments": ParameterRange(1, 1000, whole=True)},
    "engagement_drop": {
        "activities_per_day_below": ParameterRange(0, 1000),
        "days": ParameterRange(1, ACTIVITY_WINDOW_DAYS, whole=True),
    },
    "completion_stagnation": {
        "days_without_progress": ParameterRange(1, 365, whole=True),
        "probability_at_most": SHARE,
        "min_modules": ParameterRange(1, 1000, whole=True),
    },
    "low_consistency": {"share_below": SHARE},
    "streak_milestone": {"days": ParameterRange(1, 3650, whole=True)},
    "account_inactive": {"days": ParameterRange(1, 365, whole=True)},
}


def resolve_thresholds(learner_ids: Sequence[int], rules: Sequence[Rule]) -> dict[str, dict[str, np.ndarray]]:
    """One array per rule parameter, aligned with learner_ids.

    When a learner's sections (or courses) disagree, the override of the lowest section (course) id wins.
    """
    ids = np.asarray(learner_ids, dtype=np.int64)
    out = {
        rule.name: {name: np.full(len(ids), value, dtype=float) for name, value in rule.defaults.items()}
        for rule in rules
    }
    overrides = db.session.scalars(
        sa.select(ThresholdOverride).where(ThresholdOverride.rule.in_([r.name for r in rules]))
    ).all()
    if not overrides or not len(ids):
        return out
    memberships = [
        row
        for condition in chunks_in(Enrollment.learner_id, ids.tolist())
        for row in db.session.execute(
            sa.select(Enrollment.learner_id, Enrollment.section_id, Section.course_id)
            .join(Section, Section.id == Enrollment.section_id)
            .where(condition)
        )
    ]
    position = {learner_id: i for i, learner_id in enumerate(ids.tolist())}
    usable = [o for o in overrides if math.isfinite(o.value)]  # a NaN stored before values were checked
    ordered = sorted(usable, key=lambda o: (SCOPE_ORDER.index(o.scope_type), -o.scope_id))
    for override in ordered:
        target = out.get(override.rule, {}).get(override.parameter)
        if target is None:
            continue
        if override.scope_type == "global":
            target[:] = override.value
        elif override.scope_type == "learner":
            if override.scope_id in position:
                target[position[override.scope_id]] = override.value
        else:
            column = 1 if override.scope_type == "section" else 2
            members = [position[row[0]] for row in memberships if row[column] == override.scope_id]
            target[members] = override.value
    return out


def known_parameter(rule: str, parameter: str) -> bool:
    """True if the rule exists and has this parameter."""
    return rule in RULES and parameter in RULES[rule].defaults


def threshold_problem(rule: str, parameter: str, value: object) -> str | None:
    """Why `value` cannot override rule.parameter (unknown parameter, not a number, out of range), or None."""
    if not known_parameter(rule, parameter):
        return f"{rule}.{parameter} is not a rule parameter"
    return PARAMETER_RANGES[rule][parameter].problem(value)
