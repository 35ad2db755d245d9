"""GET performance-alerts/ (unversioned prefix; api.alerts serves the v1 path) and notifications/."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from analytics.alert_types import ALERT_TYPES, TYPE_OF_RULE
from api.alerts.queries import alerts_json, filtered_alerts, statistics
from api.auth.guard import current_user, require_auth
from api.progress import bp, unversioned_bp
from api.query_args import newest_first, next_before
from models import SEVERITIES, Alert, NotificationPreference, db

CURRENT_STATUSES = ("open", "acknowledged")


def _page(query: sa.Select) -> tuple[list[Alert], int | None]:
    paged, limit = newest_first(query, Alert.id)
    alerts = db.session.scalars(paged).all()
    return alerts, next_before([a.id for a in alerts], limit)


def brief_statistics(stats: dict[str, Any]) -> dict[str, Any]:
    """The brief's alert_statistics beside ours: frequency by alert type (and by rule)."""
    by_type = dict.fromkeys(ALERT_TYPES, 0)
    for rule, count in stats["frequency"].items():
        by_type[TYPE_OF_RULE.get(rule, "system")] += count
    return {
        "total_alerts_last_week": stats["total_last_week"],
        "alert_frequency": by_type,
        "average_alerts_per_day": stats["average_per_day"],
        "alert_frequency_by_rule": stats["frequency"],
        "by_severity": stats["by_severity"],
        "by_status": stats["by_status"],
        "total": stats["total"],
    }


@unversioned_bp.get("/performance-alerts/")
@require_auth()
def performance_alerts():
    """Alerts you can see (filters: learner, types incl. all and the brief's alert types, severity incl.
    all, status), the unresolved ones as current_alerts, with statistics."""
    query = filtered_alerts(current_user())
    alerts, cursor = _page(query)
    listed = alerts_json(alerts)
    stats = statistics(query)
    return {
        "current_alerts": [a for a, row in zip(listed, alerts) if row.status in CURRENT_STATUSES],
        "alert_statistics": brief_statistics(stats),
        "alerts": listed,
        "next_before": cursor,
        "statistics": stats,
    }


@bp.get("/notifications/")
@require_auth()
def notifications():
    """Open alerts you can see that match your notification preferences, newest first (empty while muted)."""
    user = current_user()
    preference = db.session.get(NotificationPreference, user.id)
    if preference is not None and preference.muted:
        return {"notifications": [], "muted": True, "next_before": None}
    query = filtered_alerts(user).where(Alert.status == "open")
    if preference is not None:
        query = query.where(Alert.severity.in_(SEVERITIES[SEVERITIES.index(preference.min_severity) :]))
        if preference.types is not None:
            query = query.where(Alert.rule.in_(preference.types))
    alerts, cursor = _page(query)
    return {"notifications": alerts_json(alerts), "muted": False, "next_before": cursor}
