"""Effective rule thresholds per learner: learner > section > course > global override > default."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa

from analytics.alert_rules import RULES, Rule
from models import Enrollment, Section, ThresholdOverride, db
from models.upsert import chunks_in

SCOPE_ORDER = ("global", "course", "section", "learner")  # later scopes win


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
    ordered = sorted(overrides, key=lambda o: (SCOPE_ORDER.index(o.scope_type), -o.scope_id))
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
