"""POST /alerts/<id>/feedback (useful, not_useful, false_alarm) and GET /alerts/quality per rule."""

from __future__ import annotations

from analytics.alert_rules import RULES
from api.access import can_read_learner
from api.alerts import bp
from api.alerts.queries import filtered_alerts
from api.audit import audit
from api.auth.guard import current_user, require_auth
from api.errors import ApiError
from api.validation import Field, json_body, validated
from models import FEEDBACK_VERDICTS, Alert, User, db
from services.alert_feedback import quality_report, record_feedback

FEEDBACK_FIELDS = {
    "verdict": Field("str", required=True, choices=FEEDBACK_VERDICTS),
    "note": Field("str", max_length=2000),
}


@bp.post("/alerts/<int:alert_id>/feedback")
@require_auth("educator", "admin")
def give_feedback(alert_id: int):
    """Say whether an alert was useful; giving a verdict again replaces your earlier one."""
    body = validated(json_body(), FEEDBACK_FIELDS)
    alert = db.session.get(Alert, alert_id)
    if alert is None or not can_read_learner(current_user(), db.session.get(User, alert.learner_id)):
        raise ApiError(404, f"no alert {alert_id} that you can see")
    audit("alert.feedback", f"alert:{alert_id}", verdict=body["verdict"])
    feedback = record_feedback(alert_id, current_user().id, body["verdict"], body.get("note"))
    return {
        "alert_id": alert_id,
        "verdict": feedback.verdict,
        "note": feedback.note,
        "updated_at": feedback.updated_at.isoformat(),
    }


@bp.get("/alerts/quality")
@require_auth("educator", "admin")
def alert_quality():
    """Per rule, over the alerts you can see (the alert list's filters apply): how often each is right."""
    return quality_report(filtered_alerts(current_user()), sorted(RULES))
