"""Threshold overrides per course, section or learner (admin), resolved learner > section > course > global."""

from __future__ import annotations

import math

import sqlalchemy as sa

from analytics.alert_rules import RULES
from api.alerts import bp
from api.audit import audit
from api.auth.guard import require_auth
from api.errors import ApiError, field_error
from api.validation import Field, json_body, validated
from models import SCOPE_TYPES, Course, Section, ThresholdOverride, User, db, utcnow
from models.upsert import upsert_rows
from services.thresholds import known_parameter, threshold_problem

SCOPE_MODELS = {"course": Course, "section": Section, "learner": User}
OVERRIDE_FIELDS = {
    "rule": Field("str", required=True, max_length=64),
    "parameter": Field("str", required=True, max_length=64),
    "scope_type": Field("str", required=True, choices=SCOPE_TYPES),
    "scope": Field("str", max_length=128),
    "value": Field("number", required=True, minimum=-1e6, maximum=1e6),
}


def _scope_names() -> dict[tuple[str, int], str]:
    names = {}
    for scope_type, model in SCOPE_MODELS.items():
        names.update({(scope_type, pk): ext for pk, ext in db.session.execute(sa.select(model.id, model.external_id))})
    return names


def _override_json(row: ThresholdOverride, names: dict) -> dict:
    return {
        "id": row.id,
        "rule": row.rule,
        "parameter": row.parameter,
        "scope_type": row.scope_type,
        "scope": names.get((row.scope_type, row.scope_id)),
        "value": row.value if math.isfinite(row.value) else None,  # a NaN stored before values were checked
    }


@bp.get("/admin/thresholds")
@require_auth("admin")
def list_overrides():
    """Every threshold override."""
    names = _scope_names()
    return {
        "overrides": [
            _override_json(r, names)
            for r in db.session.scalars(sa.select(ThresholdOverride).order_by(ThresholdOverride.id))
        ]
    }


def _checked_override(body: dict) -> int:
    """Refuse an unknown rule, parameter or scope and an out-of-range value; the scope's id otherwise."""
    if not known_parameter(body["rule"], body["parameter"]):
        field = "parameter" if body["rule"] in RULES else "rule"
        raise ApiError(
            422,
            "unknown rule or parameter",
            details=[field_error(field, f"{body['rule']}.{body['parameter']} is not a rule parameter")],
        )
    problem = threshold_problem(body["rule"], body["parameter"], body["value"])
    if problem:
        raise ApiError(422, "the threshold value is out of range", details=[field_error("value", problem)])
    if body["scope_type"] == "global":
        return 0
    model = SCOPE_MODELS[body["scope_type"]]
    scope_id = db.session.scalar(sa.select(model.id).where(model.external_id == body.get("scope", "")))
    if scope_id is None:
        raise ApiError(
            422, "unknown scope", details=[field_error("scope", f"no {body['scope_type']} {body.get('scope')!r}")]
        )
    return scope_id


@bp.put("/admin/thresholds")
@require_auth("admin")
def put_override():
    """Create or replace the override of one rule parameter for one scope (`scope` = the external id)."""
    body = validated(json_body(), OVERRIDE_FIELDS)
    scope_id = _checked_override(body)
    key = {"rule": body["rule"], "parameter": body["parameter"], "scope_type": body["scope_type"], "scope_id": scope_id}
    now = utcnow()
    upsert_rows(ThresholdOverride, list(key), [{**key, "value": body["value"], "created_at": now, "updated_at": now}],
                ["value", "updated_at"])  # fmt: skip
    target = f"{body['scope_type']}:{body.get('scope', '*')}"
    audit("threshold.set", target, rule=body["rule"], parameter=body["parameter"], value=body["value"])
    db.session.commit()
    row = db.session.scalar(sa.select(ThresholdOverride).filter_by(**key))
    return _override_json(row, _scope_names())


@bp.delete("/admin/thresholds/<int:override_id>")
@require_auth("admin")
def delete_override(override_id: int):
    """Remove an override; the next broader scope (or the default) applies again."""
    row = db.session.get(ThresholdOverride, override_id)
    if row is None:
        raise ApiError(404, f"no threshold override {override_id}")
    target = f"{row.scope_type}:{_scope_names().get((row.scope_type, row.scope_id), '*')}"
    audit("threshold.removed", target, rule=row.rule, parameter=row.parameter, value=row.value)
    db.session.delete(row)
    db.session.commit()
    return "", 204
