"""GET /achievements: the achievements you may see (learner: own; educator: their learners; admin: all)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import request

from analytics.achievements import ACHIEVEMENT_KINDS
from api.access import only_visible, readable_learner
from api.achievements import bp
from api.auth.guard import current_user, require_auth
from api.query_args import datetime_arg, list_arg, newest_first, next_before, reject_unknown_args
from models import Achievement, User, db
from models.queries import mapping
from models.unprepared import UNPREPARED
from services.achievements import achievement_json

QUERY_ARGS = ("learner", "kind", "since", "limit", "before")


@bp.get("/achievements")
@require_auth()
def list_achievements():
    """Newest first (keyset paged by id); `learner` narrows to one learner you can see (404 otherwise),
    `kind` to a comma-separated list of kinds, `since` to those reached at or after an instant."""
    reject_unknown_args(QUERY_ARGS)
    query = sa.select(Achievement)
    learner = request.args.get("learner")
    if learner:
        query = query.where(Achievement.learner_id == readable_learner(current_user(), learner).id)
    else:
        query = only_visible(query, Achievement.learner_id, current_user())
    kinds = list_arg("kind", ACHIEVEMENT_KINDS)
    if kinds:
        query = query.where(Achievement.kind.in_(kinds))
    since = datetime_arg("since")
    if since:
        query = query.where(Achievement.achieved_at >= since).execution_options(**UNPREPARED)  # models/unprepared.py
    paged, limit = newest_first(query, Achievement.id)
    rows = db.session.scalars(paged).all()
    names = (
        mapping(sa.select(User.id, User.external_id).where(User.id.in_({r.learner_id for r in rows}))) if rows else {}
    )
    return {
        "achievements": [achievement_json(row, names.get(row.learner_id)) for row in rows],
        "next_before": next_before([row.id for row in rows], limit),
    }
