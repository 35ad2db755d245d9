"""What a webhook endpoint request may hold, and how an endpoint is shown."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from api.errors import ApiError, field_error
from api.validation import Field
from models import WEBHOOK_EVENTS, Course, Section, WebhookEndpoint, db
from services.notifications.addresses import literal_problem, policy_of

EVENTS_FIELD = Field("list", item=Field("str", choices=WEBHOOK_EVENTS), max_length=len(WEBHOOK_EVENTS))
CREATE_FIELDS = {
    "url": Field("str", required=True, max_length=2000),
    "events": Field("list", required=True, item=Field("str", choices=WEBHOOK_EVENTS), max_length=len(WEBHOOK_EVENTS)),
    "section": Field("str", max_length=128),
    "course": Field("str", max_length=128),
    "description": Field("str", max_length=200),
}
UPDATE_FIELDS = {
    "url": Field("str", max_length=2000),
    "events": EVENTS_FIELD,
    "description": Field("str", max_length=200),
    "enabled": Field("bool"),
}


def checked_url(url: str) -> str:
    """Only absolute http(s) URLs with a host: no file:, gopher: or other schemes a client library might follow."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ApiError(
            422,
            "the webhook URL is invalid",
            details=[field_error("url", "must be an http:// or https:// URL with a host")],
        )
    if parts.username or parts.password:
        raise ApiError(422, "the webhook URL is invalid", details=[field_error("url", "must not hold credentials")])
    problem = literal_problem(parts.hostname, policy_of(current_app.config))
    if problem:
        raise ApiError(
            422, "the webhook URL points at an address webhooks may not reach", details=[field_error("url", problem)]
        )
    return url


def checked_events(events: list[str]) -> list[str]:
    if not events:
        raise ApiError(422, "choose at least one event", details=[field_error("events", "must not be empty")])
    return sorted(set(events), key=WEBHOOK_EVENTS.index)


def endpoint_json(endpoint: WebhookEndpoint, secret: str | None = None) -> dict[str, Any]:
    """An endpoint as its owner and admins see it; the secret only right after creation or rotation."""
    section = db.session.get(Section, endpoint.section_id) if endpoint.section_id else None
    course = db.session.get(Course, endpoint.course_id) if endpoint.course_id else None
    body: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events,
        "section": section.external_id if section else None,
        "course": course.external_id if course else None,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "disabled_at": endpoint.disabled_at.isoformat() if endpoint.disabled_at else None,
        "consecutive_failures": endpoint.consecutive_failures,
        "created_at": endpoint.created_at.isoformat(),
    }
    if secret is not None:
        body["secret"] = secret
    return body
