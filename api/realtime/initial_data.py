"""`dashboard_initial_data`: what a dashboard shows before the first live update arrives."""

from __future__ import annotations

from time import monotonic
from typing import Any

import sqlalchemy as sa
from flask import current_app

from api.access import SEES_EVERYONE
from api.alerts.queries import statistics
from api.auth.guard import Principal
from api.realtime.open_alerts import open_alerts
from api.realtime.section_views import section_views
from api.realtime.subscriptions import taught_section_rows
from api.serializers import counters_json
from models import Alert, User, db
from services.json_text import SplicedDict
from services.learner_reads import read_learner
from services.progress_context import context_of
from services.progress_views import progress_summary, realtime_metrics
from services.reports import dashboard_parts, metrics_json
from services.sessions import live_now

FORECAST_HORIZON_DAYS = 14.0
PLATFORM_FIGURES_SECONDS = 60.0


def _learner_view(user: Principal) -> dict[str, Any]:
    """The learner's own figures: their events, metrics, stored mastery and risk read (in one round trip on
    PostgreSQL: services.learner_reads) and computed once for the report's parts and the brief's blocks (the
    report's grades and patterns are not shown here)."""
    reads = read_learner(user.id)
    ctx = context_of(reads.learner, reads.loaded, reads.modules, reads.stored, reads.model)
    report = dashboard_parts(reads.loaded, user.id, FORECAST_HORIZON_DAYS, ctx.risk, ctx.mastery, reads.unstored)
    return {
        "progress": report,
        "metrics": {**metrics_json(ctx.metrics), "counters": counters_json(reads.counters)},
        "progress_summary": progress_summary(ctx),  # the product brief's names, as GET real-time-dashboard/
        "realtime_metrics": realtime_metrics(ctx),
    }


def _educator_view(user: Principal, taught: list[sa.Row] | None) -> dict[str, Any]:
    """Each of the educator's sections as the worker last summarised it (no cohort computation here); `taught`:
    the educator's sections when the socket's open read them for its channels."""
    sections = taught_section_rows(user.id) if taught is None else taught
    shown = section_views(sections)
    live = live_now([section_id for section_id, _, _ in sections], max(1, current_app.config["SESSION_GAP_MINUTES"]))
    return {"progress": SplicedDict(sections=shown, live_now=live)}


def _platform_progress() -> dict[str, Any]:
    """An admin's headline figures: the learner count and every alert's statistics, both scans of whole
    tables (a million learners cost ~100 ms), so kept per process for PLATFORM_FIGURES_SECONDS; live
    alerts reach the dashboard over the socket meanwhile."""
    cached = current_app.extensions.get("platform_progress")
    if cached is not None and monotonic() - cached[0] < PLATFORM_FIGURES_SECONDS:
        return cached[1]
    learners = db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.role == "learner"))
    figures = {"learners": learners, "alert_statistics": statistics(sa.select(Alert))}
    current_app.extensions["platform_progress"] = (monotonic(), figures)
    return figures


def dashboard_initial_data(
    user: Principal, session_id: str | None = None, taught: list[sa.Row] | None = None
) -> dict[str, Any]:
    """Progress summary, metrics, open alerts and recommendations for the user's own dashboard; `session_id`
    names this socket's session (the brief's field); `taught`: an educator's sections, if already read. Its
    alerts and an educator's sections carry their JSON text (services.json_text.spliced_dumps writes the frame)."""
    alerts, recommendations = open_alerts(user)
    if user.role == "learner":
        body = _learner_view(user)
    elif user.role == "educator":
        body = _educator_view(user, taught)
    else:
        body = {"progress": _platform_progress()}
    return SplicedDict(
        {
            "session_id": session_id,
            "user": {"external_id": user.external_id, "role": user.role},
            **body,
            "alerts": alerts,
            "recommendations": recommendations,
            "scope": "everyone" if user.role in SEES_EVERYONE else user.role,
        }
    )
