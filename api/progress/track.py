"""POST track/: a learner's own client records the learner's own activity and session heartbeats.

Stored through the same ingest path as /events (validation, idempotency by `id`, evaluation,
live `activity` messages). Never scores, grades, completions or attendance, never another learner:
those come from the platform (service tokens), so a learner cannot improve their own record.
A heartbeat is stored as its own kind, `heartbeat`: it extends the learner's learning session
(services.sessions) but is not learning activity, so no metric, streak, rule or achievement counts it,
and it is neither evaluated nor published live.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.auth.guard import current_user, require_auth
from api.errors import ApiError, field_error
from api.events.routes import ingest_response, store_and_evaluate
from api.progress import bp
from api.validation import json_body

TRACKED_KIND = "activity"
HEARTBEAT_KIND = "heartbeat"
RECORDED_BY_PLATFORM = (
    "score",
    "max_score",
    "marks",
    "grade",
    "exam",
    "status",
    "date",
    "skill",
    "completed",
    "progress",
)
OWN_ID_PREFIX = "self"  # learners' client ids live in their own namespace, apart from the platform's


def _refuse(field: str, reason: str) -> ApiError:
    return ApiError(403, f"{field}: {reason}", details=[field_error(field, reason)])


def tracked_event(raw: Any, learner: str) -> tuple[dict[str, Any], bool]:
    """The event to store for the learner, and whether it is a heartbeat; refuses what learners may not record."""
    if not isinstance(raw, dict):
        raise ApiError(422, "send one activity object", details=[field_error("body", "must be a JSON object")])
    event = dict(raw)
    if event.get("learner", learner) != learner:
        raise _refuse("learner", "you may record activity only for yourself")
    kind = event.get("kind", TRACKED_KIND)
    if kind not in (TRACKED_KIND, HEARTBEAT_KIND):
        raise _refuse("kind", f"learners record only {TRACKED_KIND} and heartbeats; {kind!r} comes from the platform")
    for name in RECORDED_BY_PLATFORM:
        if name in event:
            raise _refuse(name, "scores, grades and completions are recorded by the platform, not by learners")
    heartbeat = event.pop("heartbeat", kind == HEARTBEAT_KIND)
    if not isinstance(heartbeat, bool):
        raise ApiError(422, "heartbeat must be true or false", details=[field_error("heartbeat", "must be a boolean")])
    event.update(learner=learner, kind=HEARTBEAT_KIND if heartbeat or kind == HEARTBEAT_KIND else TRACKED_KIND)
    event.setdefault("occurred_at", datetime.now(UTC).isoformat())
    if isinstance(event.get("id"), str):
        event["id"] = f"{OWN_ID_PREFIX}:{learner}:{event['id']}"
    return event, heartbeat


@bp.post("/track/")
@require_auth("learner")
def track():
    """Record one activity (or a session heartbeat: `heartbeat: true`, optionally with `duration_seconds`
    since the last beat) for yourself; 201 stored, 200 when that `id` was already stored."""
    event, _ = tracked_event(json_body(), current_user().external_id)
    body, status = ingest_response(store_and_evaluate([event], None))
    return {**body, "kind": event["kind"], "heartbeat": event["kind"] == HEARTBEAT_KIND}, status
