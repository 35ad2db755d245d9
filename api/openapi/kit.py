"""Building blocks of the OpenAPI document: the shared error response, field schemas, one operation."""

from __future__ import annotations

from typing import Any

from api.validation import Field

ERROR = {"$ref": "#/components/responses/Error"}
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
INGEST_RESPONSES = {
    "200": {
        "description": "every event was already stored (all duplicates)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestResult"}}},
    },
    "201": {
        "description": "stored",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestResult"}}},
    },
    "409": ERROR,
    "413": ERROR,
    "415": ERROR,
    "422": ERROR,
}
PATH_PARAM_DOC = {
    "external_id": "the sending platform's id",
    "section_id": "section external id",
    "learner_id": "learner external id",
    "alert_id": "alert id",
    "override_id": "threshold override id",
    "educator_id": "educator external id",
    "webhook_id": "webhook endpoint id",
}
QUERY_PARAM_DOC = {  # query parameters whose accepted words a client cannot guess from their name
    "types": "comma-separated rule names and/or alert types (performance, engagement, achievement, system); all: every",
    "severity": "comma-separated severities (low, medium, high); all: every",
    "status": "comma-separated alert statuses (open, acknowledged, resolved); all: every",
    "learner": "a learner's external id (default: you, for a learner)",
}
WEBSOCKET_NOTE = (
    "WebSocket (GET with Upgrade: websocket; 101 Switching Protocols). Authenticate with ?token= or a first "
    'message {"type": "auth", "token"}; resume with last_id (one id, or {channel: id}). '
    'Messages: {"id", "type", "channel", "timestamp", "data", "channels"}. Origin must be allowed '
    "(WS_ALLOWED_ORIGINS). Protocol and close codes: README, Real time."
)


def field_schema(field: Field) -> dict[str, Any]:
    """JSON Schema of one validator field."""
    schema: dict[str, Any] = {
        "str": {"type": "string", "maxLength": field.max_length},
        "number": {"type": "number"},
        "int": {"type": "integer"},
        "bool": {"type": "boolean"},
        "date": {"type": "string", "format": "date"},
        "datetime": {"type": "string", "format": "date-time"},
        "time_zone": {"type": "string", "maxLength": field.max_length, "description": "IANA time zone name"},
    }[field.kind]
    if field.choices:
        schema["enum"] = list(field.choices)
    if field.minimum is not None:
        schema["minimum"] = field.minimum
    if field.maximum is not None:
        schema["maximum"] = field.maximum
    return schema


def object_schema(fields: dict[str, Field], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A closed object (additionalProperties false), as the validators refuse unknown fields."""
    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: field_schema(spec) for name, spec in fields.items()},
    }
    names = sorted(set(required) | {name for name, spec in fields.items() if spec.required})
    if names:
        schema["required"] = names
    return schema


def op(
    summary: str,
    roles: str,
    body: str | None = None,
    responses: dict[str, Any] | None = None,
    query: tuple[str, ...] = (),
    public: bool = False,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "description": f"Roles: {roles}.",
        "responses": responses or {"200": {"description": "OK"}, "401": ERROR, "403": ERROR, "404": ERROR},
    }
    if not public:
        op["security"] = [{"bearer": []}]
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    if query:
        op["parameters"] = [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
            | ({"description": QUERY_PARAM_DOC[name]} if name in QUERY_PARAM_DOC else {})
            for name in query
        ]
    return op


_op = op  # the name the path modules use
