"""GET real-time-dashboard/, analytics/comprehensive/, metrics/user/<id>/, summary/<id>/."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from api.auth.guard import require_auth
from api.progress import bp
from api.progress.common import learner_by_id, open_rules, reads_own, target_learner
from api.query_args import date_arg, int_arg
from api.serializers import counters_json, events_json, events_query
from models import HEARTBEAT_KIND, Alert, Event, LearnerCounters, MetricSnapshot, User, db
from models.queries import mapping
from services.json_values import json_scalar
from services.progress_context import LearnerContext, load_context, loaded
from services.progress_views import dashboard, insights, progress_summary, realtime_metrics
from services.reports import learner_report

RECENT_ACTIVITIES = 10


def _deadline_days() -> float | None:
    """Days until ?deadline= (inclusive), for completion probabilities."""
    deadline = date_arg("deadline")
    return None if deadline is None else (deadline - datetime.now(UTC).date()).days + 1.0


def _header(learner: User) -> dict[str, Any]:
    return {"user_id": learner.external_id, "timestamp": datetime.now(UTC).isoformat()}


def recent_activities(learner: User, limit: int = RECENT_ACTIVITIES) -> list[dict[str, Any]]:
    """The learner's newest stored events (any kind but session heartbeats), newest first."""
    return events_json(
        db.session.execute(
            events_query()
            .where(Event.learner_id == learner.id, Event.kind != HEARTBEAT_KIND)
            .order_by(Event.occurred_at.desc(), Event.id.desc())
            .limit(limit)
        )
    )


def _open_alerts(learner: User) -> dict[str, int]:
    query = sa.select(Alert.severity, sa.func.count()).where(Alert.learner_id == learner.id, Alert.status == "open")
    return mapping(query.group_by(Alert.severity))


@bp.get("/real-time-dashboard/")
@require_auth()
def real_time_dashboard():
    """Progress summary, today's metrics, the last 10 events, 30 days of trends and insights."""
    learner = target_learner()
    ctx = load_context(learner)
    view = dashboard(ctx, reads_own(learner))
    return {
        **_header(learner),
        **view,
        "recent_activities": recent_activities(learner),
        "open_alerts": _open_alerts(learner),
    }


@bp.get("/analytics/comprehensive/")
@require_auth()
def comprehensive():
    """Everything at once: our full learner report plus the brief's summary, metrics and insights."""
    learner = target_learner()
    ctx = load_context(learner)
    report = learner_report(learner, float(int_arg("horizon", 14, 1, 365)), _deadline_days(), loaded(ctx))
    return {
        **_header(learner),
        "progress_summary": progress_summary(ctx),
        "realtime_metrics": realtime_metrics(ctx),
        **report,
        "open_alerts": _open_alerts(learner),
        "open_alert_rules": open_rules(learner.id),
        "insights": insights(ctx, reads_own(learner), report["completion"]),
    }


def _latest_snapshot(learner: User) -> dict[str, Any] | None:
    row = db.session.scalar(
        sa.select(MetricSnapshot)
        .where(MetricSnapshot.learner_id == learner.id)
        .order_by(MetricSnapshot.id.desc())
        .limit(1)
    )
    return None if row is None else {"id": row.id, "taken_at": row.taken_at.isoformat(), "metrics": row.metrics}


def _metrics(ctx: LearnerContext) -> dict[str, Any]:
    return {name: json_scalar(value) for name, value in ctx.metrics.row(0).items()}


@bp.get("/metrics/user/<external_id>/")
@require_auth()
def user_metrics(external_id: str):
    """A learner's metrics computed now, their running counters and the last stored snapshot."""
    learner = learner_by_id(external_id)
    ctx = load_context(learner)
    return {
        **_header(learner),
        "metrics": _metrics(ctx),
        "risk": ctx.risk,
        "realtime_metrics": realtime_metrics(ctx),
        "counters": counters_json(db.session.get(LearnerCounters, learner.id)),
        "latest_snapshot": _latest_snapshot(learner),
    }


@bp.get("/summary/<external_id>/")
@require_auth()
def summary(external_id: str):
    """A learner's progress summary, today's metrics, open alerts and insights."""
    learner = learner_by_id(external_id)
    ctx = load_context(learner)
    return {
        **_header(learner),
        "progress_summary": progress_summary(ctx),
        "realtime_metrics": realtime_metrics(ctx),
        "open_alerts": _open_alerts(learner),
        "insights": insights(ctx, reads_own(learner)),
    }
