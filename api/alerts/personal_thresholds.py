"""Threshold preferences through /alerts/preferences: a learner for themselves, an educator for a section."""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from flask import request

from analytics.alert_rules import RULES
from api.access import readable_section
from api.auth.guard import current_user
from api.errors import ApiError, field_error
from models import Section, ThresholdOverride, User, db, utcnow
from models.upsert import upsert_rows
from services.thresholds import resolve_thresholds, threshold_problem


def threshold_scope() -> tuple[str, int] | None:
    """('learner', own id) for a learner, ('section', id) for an educator's ?section=, else None."""
    user = current_user()
    if user.role == "learner":
        return "learner", user.id
    section = request.args.get("section")
    if user.role == "educator" and section:
        found = readable_section(user, section)  # 404 unless it is theirs
        return "section", found.id
    return None


def scope_label(scope_type: str, scope_id: int) -> dict[str, str]:
    model = User if scope_type == "learner" else Section
    return {"type": scope_type, "id": db.session.scalar(sa.select(model.external_id).where(model.id == scope_id))}


def effective_thresholds(scope_type: str, scope_id: int) -> dict[str, dict[str, float]]:
    """The values in force: for a learner, fully resolved; for a section, its overrides over course, global, default."""
    rules = list(RULES.values())
    if scope_type == "learner":
        resolved = resolve_thresholds([scope_id], rules)
        return {rule: {name: float(values[0]) for name, values in params.items()} for rule, params in resolved.items()}
    out = {rule.name: dict(rule.defaults) for rule in rules}
    section = db.session.get(Section, scope_id)
    scopes = [("global", 0), ("course", section.course_id or -1), ("section", scope_id)]
    for scope in scopes:
        for row in db.session.scalars(
            sa.select(ThresholdOverride).where(
                ThresholdOverride.scope_type == scope[0], ThresholdOverride.scope_id == scope[1]
            )
        ):
            if row.rule in out and row.parameter in out[row.rule] and math.isfinite(row.value):
                out[row.rule][row.parameter] = row.value
    return out


def set_thresholds(scope_type: str, scope_id: int, thresholds: Any) -> None:
    """Validate {rule: {parameter: number}} and store it as overrides of this scope (all or nothing)."""
    errors, rows = [], []
    if not isinstance(thresholds, dict):
        raise ApiError(
            422,
            "thresholds must be an object",
            details=[field_error("thresholds", "must be {rule: {parameter: value}}")],
        )
    for rule, params in thresholds.items():
        if rule not in RULES or not isinstance(params, dict):
            errors.append(
                field_error(f"thresholds.{rule}", "unknown rule" if rule not in RULES else "must be an object")
            )
            continue
        for name, value in params.items():
            problem = "unknown parameter" if name not in RULES[rule].defaults else threshold_problem(rule, name, value)
            if problem:
                errors.append(field_error(f"thresholds.{rule}.{name}", problem))
            else:
                rows.append(
                    {
                        "rule": rule,
                        "parameter": name,
                        "scope_type": scope_type,
                        "scope_id": scope_id,
                        "value": float(value),
                        "created_at": utcnow(),
                        "updated_at": utcnow(),
                    }
                )
    if errors:
        raise ApiError(422, "some thresholds are invalid; nothing was changed", details=errors)
    upsert_rows(ThresholdOverride, ["rule", "parameter", "scope_type", "scope_id"], rows, ["value", "updated_at"])
