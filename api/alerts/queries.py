"""Which alerts a user may see, filtered by the common query parameters, and their statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import request

from analytics.alert_rules import RULES
from analytics.alert_types import ALERT_TYPES, TYPE_OF_RULE, rules_of_types
from api.access import only_visible, readable_learner
from api.auth.guard import Principal
from api.query_args import list_arg
from models import ALERT_STATUSES, SEVERITIES, Alert, User, db
from models.queries import mapping
from services.alerting import alert_json


def filtered_alerts(user: Principal) -> sa.Select:
    """Alerts visible to the user, narrowed by ?learner=, ?types=, ?severity=, ?status=."""
    query = sa.select(Alert)
    learner = request.args.get("learner")
    if learner:
        query = query.where(Alert.learner_id == readable_learner(user, learner).id)
    else:
        query = only_visible(query, Alert.learner_id, user)
    for name, column, allowed in (
        ("types", Alert.rule, tuple(RULES)),
        ("severity", Alert.severity, SEVERITIES),
        ("status", Alert.status, ALERT_STATUSES),
    ):
        values = filter_values(name, allowed)
        if values is not None:
            query = query.where(column.in_(values))
    return query


def filter_values(name: str, allowed: tuple[str, ...]) -> list[str] | None:
    """The values of a list filter; None = no filter. `all` means no filter (the product brief's
    `?types=all&severity=all`); `types` also takes the brief's alert types (analytics.alert_types)."""
    words = ("all", *ALERT_TYPES) if name == "types" else ("all",)
    values = list_arg(name, allowed + words)
    if not values or "all" in values:
        return None
    return rules_of_types(values) if name == "types" else values


def alerts_json(alerts: list[Alert]) -> list[dict[str, Any]]:
    """Alerts as the API shows them, each with its learner's external id (one query for all)."""
    names = (
        dict(
            db.session.execute(
                sa.select(User.id, User.external_id).where(User.id.in_({a.learner_id for a in alerts}))
            ).all()
        )
        if alerts
        else {}
    )
    return [alert_json(alert, names.get(alert.learner_id)) for alert in alerts]


def statistics(query: sa.Select) -> dict[str, Any]:
    """Totals by status, severity and type, and the last week's volume and daily average."""
    alerts = query.subquery()
    week_ago = datetime.now(UTC) - timedelta(days=7)

    def counts(column: str) -> dict[str, int]:
        return mapping(sa.select(alerts.c[column], sa.func.count()).group_by(alerts.c[column]))

    last_week = db.session.scalar(sa.select(sa.func.count()).select_from(alerts).where(alerts.c.created_at >= week_ago))
    by_status = counts("status")
    return {
        "total": sum(by_status.values()),
        "by_status": by_status,
        "by_severity": counts("severity"),
        "frequency": counts("rule"),
        "total_last_week": last_week,
        "average_per_day": round(last_week / 7, 2),
    }


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
