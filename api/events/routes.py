"""POST /events: one event, or {"events": [...]} up to 5,000, stored all-or-nothing."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import current_app

from api.auth.guard import require_auth
from api.errors import ApiError, field_error
from api.events import bp
from api.events.group_commit import IngestGroups
from api.events.ingest import IngestResult, ingest_events, public_views, store_events, validate_events
from api.events.schemas import MAX_BATCH
from api.realtime.announce import announce_events
from api.validation import json_body
from models.upsert import Users

log = logging.getLogger(__name__)


def store_and_evaluate(raw_events: list[Any], collection: str | None, grouped: bool = False) -> IngestResult:
    """Ingest a batch, then (after commit) enqueue the evaluation of the learners it touched and
    publish the events to live clients. With `grouped`, a single event joins the process's group commit
    (api/events/group_commit.py) with the other single events arriving meanwhile; only POST /events asks
    for it: callers with their own rows in the session (xAPI statements) must commit them with the events."""
    config = current_app.config
    auto_create, skew = config["AUTO_CREATE_LEARNERS"], timedelta(seconds=config["MAX_CLOCK_SKEW_SECONDS"])
    groups: IngestGroups = current_app.extensions["ingest_groups"]
    if grouped and len(raw_events) == 1 and groups.limit > 1:
        (event,) = validate_events(raw_events, collection, skew)
        return groups.store(event, collection, auto_create, announce)
    result = ingest_events(raw_events, collection=collection, auto_create=auto_create, skew=skew)
    announce(result)
    return result


def store_checked_and_evaluate(events: list[dict[str, Any]], collection: str | None, users: Users) -> IngestResult:
    """store_and_evaluate for events already in validated form (each with its `hash` and `index`): the xAPI
    mapper builds them within the event format's rules, and validating them again cost a tenth of a batch.
    `users`: (id, role) by external id of every user the events name that exists (the mapper looked them up)."""
    auto_create = current_app.config["AUTO_CREATE_LEARNERS"]
    result = store_events(events, collection=collection, auto_create=auto_create, users=users)
    announce(result)
    return result


UNANNOUNCED_KINDS = ("heartbeat",)  # session heartbeats change no metric and are no news to anyone


def announce(result: IngestResult) -> None:
    """Record who is present (services.presence), queue the evaluations and publish the events of a committed
    result (heartbeats: presence only); never raises."""
    stored = [item for item in result.stored if item[1]["kind"] not in UNANNOUNCED_KINDS]
    events = [(learner, event) for learner, event, _ in stored]  # the validated events: their learner and kind
    try:
        announce_events(events, {learner for learner, _ in events}, result.reach, views=lambda: public_views(stored))
    except Exception:  # noqa: BLE001  (the events are stored: live delivery must never turn that into a 500)
        log.exception("could not publish %d stored event(s) to live clients", len(stored))


def ingest_response(result: IngestResult) -> tuple[dict[str, Any], int]:
    """201 when something new was stored, 200 when every event was already there."""
    body = {
        "stored": len(result.stored_ids),
        "duplicates": len(result.duplicate_client_ids),
        "ids": result.stored_ids,
        "duplicate_ids": result.duplicate_client_ids,
    }
    return body, (201 if result.stored_ids else 200)


def batch_from_body(body: Any) -> tuple[list[Any], str | None]:
    """Accept one event object or {"events": [...]}; returns the list and its field-path prefix."""
    if isinstance(body, dict) and "events" in body:
        extra = sorted(set(body) - {"events"})
        if extra:
            raise ApiError(
                422, "a batch body holds only `events`", details=[field_error(name, "unknown field") for name in extra]
            )
        events = body["events"]
        if not isinstance(events, list) or not events:
            raise ApiError(
                422, "`events` must be a non-empty list", details=[field_error("events", "must be a non-empty list")]
            )
        if len(events) > MAX_BATCH:
            raise ApiError(
                413,
                f"a batch holds at most {MAX_BATCH} events, this one has {len(events)}",
                details=[field_error("events", f"at most {MAX_BATCH} items")],
            )
        return events, "events"
    if isinstance(body, dict):
        return [body], None
    raise ApiError(
        422, 'send one event object or {"events": [...]}', details=[field_error("body", "must be a JSON object")]
    )


@bp.post("/events")
@require_auth("service", "admin")
def post_events():
    """Store events; duplicates (same id, same body) are counted, not stored again."""
    events, collection = batch_from_body(json_body())
    return ingest_response(store_and_evaluate(events, collection, grouped=True))
