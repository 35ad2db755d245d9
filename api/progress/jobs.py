"""POST analytics/generate/ (recompute now, on the worker), POST snapshots/create/, GET snapshots/."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, request
from kombu.exceptions import OperationalError

from api.access import only_visible, readable_section
from api.auth.guard import current_user, require_auth
from api.errors import ApiError, field_error
from api.progress import bp
from api.progress.common import learner_by_id, target_learner
from api.query_args import in_time_range, newest_first, next_before
from api.validation import Field, json_body, validated
from models import Enrollment, MetricSnapshot, User, db
from services.monitoring import store_snapshots

EVALUATE_TASK = "learnpulse.evaluate_learners"  # worker/tasks.py; sent by name (api never imports worker)
GENERATE_FIELDS = {"learner": Field("str", max_length=128), "section": Field("str", max_length=128)}
MANUAL_SNAPSHOT = "manual"


def _choice() -> dict[str, Any]:
    """`learner` or `section` from the JSON body (if any) or the query string."""
    body = validated(json_body(), GENERATE_FIELDS) if request.content_length else {}
    chosen = {name: body.get(name) or request.args.get(name) for name in GENERATE_FIELDS}
    return {name: value for name, value in chosen.items() if value}


def _section_members(external_id: str) -> list[int]:
    """Learners of a section the caller may recompute: its educator's, or any for admins and services."""
    if current_user().role == "learner":
        raise ApiError(
            403,
            "learners recompute only their own analytics",
            details=[field_error("section", "not allowed for learners")],
        )
    section = readable_section(current_user(), external_id)
    members = sa.select(Enrollment.learner_id).where(Enrollment.section_id == section.id).distinct()
    return sorted(db.session.scalars(only_visible(members, Enrollment.learner_id, current_user())))


def _send(ids: list[int]) -> str:
    try:
        task = current_app.extensions["celery"].send_task(EVALUATE_TASK, args=[ids], kwargs={"started_by": "api"})
        return task.id  # the worker records the run (job `evaluation`) for `flask monitoring status`
    except OperationalError as exc:
        raise ApiError(503, f"could not queue the recomputation: {exc}") from exc


@bp.post("/analytics/generate/")
@require_auth()
def generate_analytics():
    """Recompute a learner's (or with `section`, a section's) counters, alerts and metrics now on the
    worker; 202 with the task id. The worker then publishes `metrics_update` to live clients."""
    chosen = _choice()
    if "section" in chosen:
        ids = _section_members(chosen["section"])
        if not ids:
            raise ApiError(
                422, "the section has no learners you can see", details=[field_error("section", "no learners")]
            )
    else:
        ids = [(learner_by_id(chosen["learner"]) if "learner" in chosen else target_learner()).id]
    names = db.session.scalars(sa.select(User.external_id).where(User.id.in_(ids)).order_by(User.external_id)).all()
    return {"task_id": _send(ids), "task": EVALUATE_TASK, "status": "queued", "learners": names}, 202


def snapshot_json(row: MetricSnapshot) -> dict[str, Any]:
    return {
        "id": row.id,
        "taken_at": row.taken_at.isoformat(),
        "kind": row.metrics.get("snapshot"),
        "metrics": row.metrics,
    }


@bp.post("/snapshots/create/")
@require_auth()
def create_snapshot():
    """Store the learner's current metrics as a snapshot now and publish them as `metrics_update`."""
    learner = target_learner()
    store_snapshots([learner.id], MANUAL_SNAPSHOT, publish_updates=True)
    row = db.session.scalar(
        sa.select(MetricSnapshot)
        .where(MetricSnapshot.learner_id == learner.id)
        .order_by(MetricSnapshot.id.desc())
        .limit(1)
    )
    return {"user_id": learner.external_id, "snapshot": snapshot_json(row)}, 201


@bp.get("/snapshots/")
@require_auth()
def list_snapshots():
    """A learner's stored metric snapshots, newest first, within `since`/`until` (keyset paged by id)."""
    learner = target_learner()
    query = sa.select(MetricSnapshot).where(MetricSnapshot.learner_id == learner.id)
    paged, limit = newest_first(in_time_range(query, MetricSnapshot.taken_at), MetricSnapshot.id)
    rows = db.session.scalars(paged).all()
    return {
        "user_id": learner.external_id,
        "snapshots": [snapshot_json(row) for row in rows],
        "next_before": next_before([row.id for row in rows], limit),
    }
