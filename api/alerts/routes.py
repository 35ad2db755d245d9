"""Alert lists, acknowledgement, history, statistics, preferences and notifications."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import request

from analytics.alert_rules import RULES
from analytics.alert_types import ALERT_TYPES, rules_of_types
from api.access import can_read_learner, only_visible
from api.alerts import bp
from api.alerts.personal_thresholds import effective_thresholds, scope_label, set_thresholds, threshold_scope
from api.alerts.queries import alerts_json, brief_statistics, filtered_alerts, statistics
from api.audit import audit
from api.auth.guard import current_user, require_auth
from api.errors import ApiError, field_error
from api.query_args import newest_first, next_before
from api.validation import Field, json_body, validated, validated_value
from models import EMAIL_DELIVERIES, SEVERITIES, Alert, AlertHistory, NotificationPreference, User, db
from services.alerting import alert_json

PREFERENCE_FIELDS = {
    "min_severity": Field("str", choices=SEVERITIES),
    "muted": Field("bool"),
    "email_delivery": Field("str", choices=EMAIL_DELIVERIES),  # services/notifications: immediate, digests
}
# Rule names and the brief's alert types (performance, engagement, achievement, system); null or "all": every type.
TYPE_WORDS = (*RULES, *ALERT_TYPES, "all")
TYPES_FIELD = Field("list", item=Field("str", choices=TYPE_WORDS), max_length=100)


def _page(query: sa.Select) -> tuple[list[Alert], int | None]:
    paged, limit = newest_first(query, Alert.id)
    alerts = db.session.scalars(paged).all()
    return alerts, next_before([a.id for a in alerts], limit)


@bp.get("/progress/performance-alerts/")
@require_auth()
def performance_alerts():
    """Your alerts (learners), your learners' (educators) or anyone's (admins; ?learner= narrows), with
    statistics; the brief's names beside ours: the unresolved ones as current_alerts, and alert_statistics."""
    query = filtered_alerts(current_user())
    alerts, next_before = _page(query)
    listed, stats = alerts_json(alerts), statistics(query)
    return {
        "current_alerts": [shown for shown, alert in zip(listed, alerts) if alert.status != "resolved"],
        "alert_statistics": brief_statistics(stats),
        "alerts": listed,
        "next_before": next_before,
        "statistics": stats,
    }


@bp.get("/alerts/statistics")
@require_auth()
def alert_statistics():
    """Counts of the alerts you can see, by status, severity and type, and the last week's rate."""
    return statistics(filtered_alerts(current_user()))


@bp.post("/alerts/<int:alert_id>/acknowledge")
@require_auth("learner", "educator", "admin")
def acknowledge(alert_id: int):
    """Mark an open alert as seen, with an optional note; the change is kept in its history."""
    body = validated(json_body(), {"note": Field("str", max_length=2000)})
    alert = db.session.get(Alert, alert_id)
    if alert is None or not can_read_learner(current_user(), db.session.get(User, alert.learner_id)):
        raise ApiError(404, f"no alert {alert_id} that you can see")
    if alert.status != "open":
        raise ApiError(409, f"alert {alert_id} is {alert.status}; only open alerts can be acknowledged")
    now = datetime.now(UTC)
    changed = db.session.execute(
        sa.update(Alert)
        .where(Alert.id == alert_id, Alert.status == "open")
        .values(status="acknowledged", acknowledged_at=now, updated_at=now)
    ).rowcount
    if not changed:
        raise ApiError(409, f"alert {alert_id} changed meanwhile; fetch it again")
    db.session.add(
        AlertHistory(
            alert_id=alert_id,
            from_status="open",
            to_status="acknowledged",
            actor_id=current_user().id,
            note=body.get("note"),
            at=now,
        )
    )
    audit("alert.acknowledged", f"alert:{alert_id}", rule=alert.rule, note=body.get("note"))
    db.session.commit()
    db.session.refresh(alert)
    return alert_json(alert, db.session.get(User, alert.learner_id).external_id)


@bp.get("/alerts/history")
@require_auth()
def history():
    """State changes of the alerts you can see, newest first: who, when, from and to which status."""
    query = sa.select(AlertHistory, Alert.rule, Alert.learner_id).join(Alert, Alert.id == AlertHistory.alert_id)
    query = only_visible(query, Alert.learner_id, current_user())
    paged, limit = newest_first(query, AlertHistory.id)
    rows = db.session.execute(paged).all()
    people = (
        {
            u.id: u.external_id
            for u in db.session.scalars(
                sa.select(User).where(User.id.in_({r[0].actor_id for r in rows} | {r[2] for r in rows}))
            )
        }
        if rows
        else {}
    )
    return {
        "history": [
            {
                "id": h.id,
                "alert_id": h.alert_id,
                "rule": rule,
                "learner": people.get(learner),
                "from_status": h.from_status,
                "to_status": h.to_status,
                "actor": people.get(h.actor_id),
                "note": h.note,
                "at": h.at.isoformat(),
            }
            for h, rule, learner in rows
        ],
        "next_before": next_before([row[0].id for row in rows], limit),
    }


def stored_types(types: list[str] | None) -> list[str] | None:
    """The types preference as stored: the words as sent (a type word keeps covering its rules), `all` = null."""
    return None if types is None or "all" in types else list(dict.fromkeys(types))


def _preferences(user_id: int) -> NotificationPreference:
    return db.session.get(NotificationPreference, user_id) or NotificationPreference(
        user_id=user_id, types=None, min_severity="low", muted=False, email_delivery="daily"
    )


def _preferences_json(preference: NotificationPreference) -> dict:
    scope = threshold_scope()
    return {
        "types": preference.types,
        "min_severity": preference.min_severity,
        "muted": preference.muted,
        "email_delivery": preference.email_delivery,
        **({"thresholds": effective_thresholds(*scope), "threshold_scope": scope_label(*scope)} if scope else {}),
    }


@bp.get("/alerts/preferences")
@require_auth()
def get_preferences():
    """Your notification preferences and the alert thresholds in force for you (a learner) or for one
    of your sections (an educator, `?section=`)."""
    return _preferences_json(_preferences(current_user().id))


@bp.put("/alerts/preferences")
@require_auth()
def put_preferences():
    """Set which alert types notify you (null = all), the minimum severity, mute, and, for an educator,
    `thresholds` ({rule: {parameter: value}}) of one of their sections (`?section=`). A learner's
    preferences change only what the learner is notified of, never what their educators are alerted about."""
    raw = json_body()
    thresholds = raw.pop("thresholds", None) if isinstance(raw, dict) else None
    body = validated(
        {k: v for k, v in raw.items() if k != "types"} if isinstance(raw, dict) else raw, PREFERENCE_FIELDS
    )
    if raw.get("types") is not None:
        validated_value("types", raw["types"], TYPES_FIELD)  # before anything is written
    if thresholds is not None and current_user().role == "learner":
        raise ApiError(
            403,
            "alert thresholds are set by your educators and admins; choose what you are notified of with "
            "types, min_severity and muted",
            details=[
                field_error("thresholds", "learners may not change the thresholds their educators are alerted by")
            ],
        )
    if thresholds is not None:
        scope = threshold_scope()
        if scope is None:
            raise ApiError(
                422,
                "thresholds are set by educators for one of their sections",
                details=[field_error("thresholds", "use ?section=<id> as an educator; admins use /admin/thresholds")],
            )
        set_thresholds(*scope, thresholds)
        audit("threshold.set", f"{scope[0]}:{request.args.get('section', '')}", thresholds=thresholds)
    preference = _preferences(current_user().id)
    if "types" in raw:
        preference.types = stored_types(raw["types"])
    for name, value in body.items():
        setattr(preference, name, value)
    db.session.add(preference)
    db.session.commit()
    return _preferences_json(preference)


@bp.get("/notifications/")
@require_auth()
def notifications():
    """Open alerts you can see that match your preferences, newest first (empty while muted)."""
    preference = _preferences(current_user().id)
    if preference.muted:
        return {"notifications": [], "muted": True, "next_before": None}
    query = filtered_alerts(current_user()).where(
        Alert.status == "open", Alert.severity.in_(SEVERITIES[SEVERITIES.index(preference.min_severity) :])
    )
    if preference.types is not None:
        query = query.where(Alert.rule.in_(rules_of_types(preference.types)))
    alerts, next_before = _page(query)
    return {"notifications": alerts_json(alerts), "muted": False, "next_before": next_before}


@bp.get("/alerts/rules")
@require_auth()
def rules():
    """Every rule with its documented default thresholds, what each parameter means and its unit."""
    return {
        "rules": [
            {
                "name": r.name,
                "kind": r.kind,
                "type": r.type,
                "action_required": r.action_required,
                "sweep": r.sweep,
                "title": r.title,
                "description": r.description,
                "defaults": r.defaults,
                "recommendations": list(r.recommendations),
                "parameters": {
                    name: {"default": value, "meaning": r.parameters[name][0], "unit": r.parameters[name][1]}
                    for name, value in r.defaults.items()
                },
                "false_alarm_rate": r.false_alarm_rate,
                "suppressed_by": list(r.suppressed_by),
            }
            for r in RULES.values()
        ]
    }
