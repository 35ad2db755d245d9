"""OpenAPI entries of webhooks and guardians (merged into api/openapi's paths and request schemas)."""

from __future__ import annotations

from typing import Any

from api.openapi.kit import ERROR, object_schema, op
from api.webhooks.guardians import GUARDIAN_FIELDS, MAX_GUARDIANS
from api.webhooks.schemas import CREATE_FIELDS, UPDATE_FIELDS
from models import WEBHOOK_EVENTS

ROLES = "admin (all), service and educator (their own; educators scoped to a section they teach)"
SIGNING_NOTE = (
    "Each delivery is a POST of {id, type, created_at, data} with headers X-LearnPulse-Event, X-LearnPulse-Delivery "
    "and X-LearnPulse-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>' keyed by the secret>. "
    f"Events: {', '.join(WEBHOOK_EVENTS)} (and ping from /test). Non-2xx answers, timeouts and redirects are "
    "retried with exponential backoff; WEBHOOK_DISABLE_AFTER consecutive failures disable the endpoint."
)


def _list_schema(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item, "maxItems": len(WEBHOOK_EVENTS), "minItems": 1}


def _with_events(fields: dict[str, Any]) -> dict[str, Any]:
    """The validator's fields, with `events` (a list, which kit.field_schema does not describe) added."""
    schema = object_schema({name: spec for name, spec in fields.items() if name != "events"})
    schema["properties"]["events"] = _list_schema({"type": "string", "enum": list(WEBHOOK_EVENTS)})
    if fields["events"].required:
        schema["required"] = sorted([*schema.get("required", []), "events"])
    return schema


REQUEST_SCHEMAS: dict[str, Any] = {
    "WebhookCreate": _with_events(CREATE_FIELDS),
    "WebhookUpdate": _with_events(UPDATE_FIELDS),
    "GuardiansPut": {
        "type": "object",
        "additionalProperties": False,
        "required": ["guardians"],
        "properties": {
            "guardians": {"type": "array", "maxItems": MAX_GUARDIANS, "items": object_schema(GUARDIAN_FIELDS)}
        },
    },
}
_ONE = {"200": {"description": "OK"}, "401": ERROR, "403": ERROR, "404": ERROR}


def webhook_paths() -> dict[str, Any]:
    """Paths of /webhooks and /learners/{learner_id}/guardians."""
    return {**_endpoint_paths(), **_guardian_paths()}


def _endpoint_paths() -> dict[str, Any]:
    """Registering, changing, testing and auditing webhook endpoints."""
    created = {
        "201": {"description": "registered; holds `secret`, shown this once"},
        "401": ERROR,
        "403": ERROR,
        "415": ERROR,
        "422": ERROR,
    }
    return {
        "/api/v1/webhooks": {
            "get": op("Your webhook endpoints (all for admins), with disabled_reason", ROLES),
            "post": op(f"Register a webhook endpoint. {SIGNING_NOTE}", ROLES, "WebhookCreate", responses=created),
        },
        "/api/v1/webhooks/{webhook_id}": {
            "get": op("One webhook endpoint", ROLES),
            "patch": op(
                "Change url, events, description; enabled: true re-enables a disabled endpoint",
                ROLES,
                "WebhookUpdate",
                responses={**_ONE, "415": ERROR, "422": ERROR},
            ),
            "delete": op(
                "Delete a webhook endpoint and its delivery log",
                ROLES,
                responses={"204": {"description": "deleted"}, "401": ERROR, "403": ERROR, "404": ERROR},
            ),
        },
        "/api/v1/webhooks/{webhook_id}/rotate-secret": {
            "post": op("Replace the signing secret (returned this once)", ROLES)
        },
        "/api/v1/webhooks/{webhook_id}/test": {
            "post": op(
                "Queue a signed `ping` delivery",
                ROLES,
                responses={"202": {"description": "queued"}, "401": ERROR, "403": ERROR, "404": ERROR, "409": ERROR},
            )
        },
        "/api/v1/webhooks/{webhook_id}/deliveries": {
            "get": op(
                "Deliveries newest first: status, attempts, response_status, last_error, next_attempt_at",
                ROLES,
                query=("status", "limit", "before"),
            )
        },
    }


def _guardian_paths() -> dict[str, Any]:
    """A learner's guardian contacts (digest recipients)."""
    return {
        "/api/v1/learners/{learner_id}/guardians": {
            "get": op("A learner's guardian contacts (they receive the learner's digest by email)", "admin, service"),
            "put": op(
                "Replace a learner's guardian contacts; digest: daily, weekly (default) or never",
                "admin, service",
                "GuardiansPut",
                responses={**_ONE, "415": ERROR, "422": ERROR},
            ),
        },
    }
