"""GET /learners/<id>/sessions and /sections/<id>/sessions: learning sessions derived from events."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from api.access import readable_learner, readable_section
from api.auth.guard import current_user, require_auth
from api.learners import bp
from api.query_args import int_arg
from models import Enrollment, User, db
from services.sessions import learner_sessions, section_sessions

DEFAULT_DAYS, MAX_DAYS = 30, 365


def _window() -> tuple[int, int]:
    """`days` (1-365, default 30) and `gap_minutes` (a pause longer than this ends a session; 1-1440,
    default SESSION_GAP_MINUTES, itself 30 by default)."""
    days = int_arg("days", DEFAULT_DAYS, 1, MAX_DAYS) or DEFAULT_DAYS
    default_gap = max(1, int(current_app.config["SESSION_GAP_MINUTES"]))
    return days, int_arg("gap_minutes", default_gap, 1, 1440) or default_gap


@bp.get("/learners/<external_id>/sessions")
@require_auth()
def learner_session_analytics(external_id: str):
    """A learner's learning sessions: count, length, time of day, the open one, the latest `limit`."""
    learner = readable_learner(current_user(), external_id)
    days, gap = _window()
    limit = int_arg("limit", 20, 0, 200)
    zone = current_app.config["ALERT_TIME_ZONE"]
    body = learner_sessions(learner.id, days, gap, zone, limit if limit is not None else 20)
    return {"learner": learner.external_id, "period_days": days, "gap_minutes": gap, "time_zone": zone, **body}


@bp.get("/sections/<external_id>/sessions")
@require_auth("educator", "admin", "service")
def section_session_analytics(external_id: str):
    """Session analytics of a section's learners, and who is in a session now (`live_now`)."""
    section = readable_section(current_user(), external_id)
    days, gap = _window()
    learners = db.session.execute(
        sa.select(User.id, User.external_id, User.name)
        .join(Enrollment, Enrollment.learner_id == User.id)
        .where(Enrollment.section_id == section.id)
    ).all()
    zone = current_app.config["ALERT_TIME_ZONE"]
    body = section_sessions([tuple(row) for row in learners], days, gap, zone)
    return {"section": section.external_id, "period_days": days, "gap_minutes": gap, "time_zone": zone, **body}
