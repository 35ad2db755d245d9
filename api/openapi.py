"""The OpenAPI 3 document, built from the same field specs the validators enforce."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from analytics.alert_rules import RULES
from api.alerts.feedback import FEEDBACK_FIELDS
from api.alerts.routes import PREFERENCE_FIELDS
from api.alerts.thresholds import OVERRIDE_FIELDS
from api.entities.specs import SPECS
from api.events.schemas import KIND_FIELDS, MAX_BATCH
from api.exports.openapi_paths import export_paths
from api.progress.openapi_paths import TYPES_NOTE, progress_paths
from api.realtime.routes import PERSONAL_ENDPOINTS
from api.validation import Field
from models import ENROLLMENT_STATUSES

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
}
WEBSOCKET_NOTE = (
    "WebSocket (GET with Upgrade: websocket; 101 Switching Protocols). Authenticate with ?token= or a first "
    'message {"type": "auth", "token"}; resume with last_id (one stream id, or {channel: id}). '
    'Messages: {"id", "type", "channel", "timestamp", "data"}. Origin must be allowed '
    "(WS_ALLOWED_ORIGINS). Protocol and close codes: README, Real time."
)


def _websocket_paths() -> dict[str, Any]:
    """The WebSocket endpoints: OpenAPI 3 has no WebSocket object, so each is a GET answered by 101."""

    def ws(summary: str) -> dict[str, Any]:
        op = _op(
            summary,
            "any authenticated user (via the token)",
            public=True,
            query=("token", "last_id"),
            responses={
                "101": {"description": "switching to the WebSocket protocol"},
                "403": {"description": "Origin not allowed", "content": ERROR_CONTENT},
            },
        )
        op["description"] = f"{op['description']} {WEBSOCKET_NOTE}"
        return {"get": op}

    return {
        "/ws": ws('Follow channels chosen by message: {"type": "subscribe", "channel": "learner:<id>"}'),
        **{f"/ws/{name}/": ws(doc.rstrip(".")) for name, (_, doc) in PERSONAL_ENDPOINTS.items()},
        "/ws/performance/{educator_id}": ws("Everything about one educator's classes (the educator, admins)"),
    }


def field_schema(field: Field) -> dict[str, Any]:
    """JSON Schema of one validator field."""
    schema: dict[str, Any] = {
        "str": {"type": "string", "maxLength": field.max_length},
        "number": {"type": "number"},
        "int": {"type": "integer"},
        "bool": {"type": "boolean"},
        "date": {"type": "string", "format": "date"},
        "datetime": {"type": "string", "format": "date-time"},
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


def _event_schemas() -> dict[str, Any]:
    schemas = {f"Event_{kind}": object_schema(fields) for kind, fields in KIND_FIELDS.items()}
    for kind in KIND_FIELDS:
        schemas[f"Event_{kind}"]["properties"]["kind"] = {"type": "string", "enum": [kind]}
    schemas["Event"] = {
        "oneOf": [{"$ref": f"#/components/schemas/Event_{kind}"} for kind in KIND_FIELDS],
        "discriminator": {"propertyName": "kind"},
    }
    schemas["EventBatch"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["events"],
        "properties": {
            "events": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_BATCH,
                "items": {"$ref": "#/components/schemas/Event"},
            }
        },
    }
    schemas["IngestResult"] = {
        "type": "object",
        "properties": {
            "stored": {"type": "integer"},
            "duplicates": {"type": "integer"},
            "ids": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "server ids of the stored events, in batch order",
            },
            "duplicate_ids": {"type": "array", "items": {"type": "string"}},
        },
    }
    return schemas


def _components() -> dict[str, Any]:
    schemas = _event_schemas()
    for name, spec in SPECS.items():
        schemas[f"{name.title()}Put"] = object_schema(spec.fields)
    schemas["Error"] = {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "status": {"type": "integer"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "index": {"type": "integer"},
                                "path": {"type": "string"},
                                "reason": {"type": "string"},
                            },
                        },
                    },
                },
            }
        },
    }
    return {
        "schemas": schemas,
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "responses": {
            "Error": {
                "description": "error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        },
    }


def _op(
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
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}} for name in query
        ]
    return op


def _paths() -> dict[str, Any]:
    ingest = {"oneOf": [{"$ref": "#/components/schemas/Event"}, {"$ref": "#/components/schemas/EventBatch"}]}
    paths: dict[str, Any] = {
        "/health": {
            "get": _op(
                "Database, Redis and worker status (503 if the database or Redis is down)",
                "anyone",
                public=True,
                responses={"200": {"description": "serving"}, "503": {"description": "unavailable"}},
            )
        },
        "/api/v1/openapi.json": {
            "get": _op("This document", "anyone", public=True, responses={"200": {"description": "OpenAPI 3"}})
        },
        "/api/v1/auth/token": {
            "post": _op(
                "Mint a short-lived token for a learner or educator",
                "service, admin",
                "TokenRequest",
                {"201": {"description": "token"}, "403": ERROR, "404": ERROR, "422": ERROR},
            )
        },
        "/api/v1/me": {"get": _op("The authenticated user", "any")},
        "/session/ws-token": {
            "post": _op(
                "A short-lived bearer token for the signed-in browser's WebSocket auth message "
                "(session cookie and X-CSRF-Token header; see README, Dashboards)",
                "a browser session",
                public=True,
                responses={"200": {"description": "token, expires_at, expires_in"}, "401": ERROR, "403": ERROR},
            )
        },
        "/api/v1/events": {
            "post": _op(
                f"Store one event or a batch of up to {MAX_BATCH}, all-or-nothing",
                "service, admin",
                responses=INGEST_RESPONSES,
            )
        },
        "/api/v1/attendance": {
            "post": _op(
                "One section's attendance register for one day",
                "service, admin, educator (own section)",
                "AttendanceRequest",
                INGEST_RESPONSES,
            )
        },
        "/api/v1/exams/{external_id}/grades": {
            "post": _op(
                "Marks for one exam", "service, admin, educator (own section)", "GradesRequest", INGEST_RESPONSES
            )
        },
        "/api/v1/learners": {"get": _op("Learners you can see", "any (scoped)", query=("limit", "before"))},
        "/api/v1/learners/{external_id}/events": {
            "get": _op(
                "A learner's events, newest first",
                "self, their educators, admin, service",
                query=("kind", "since", "until", "limit", "before"),
            )
        },
        "/api/v1/learners/{external_id}/summary": {
            "get": _op("A learner's running counters", "self, their educators, admin, service")
        },
        "/api/v1/sections": {"get": _op("Sections you can see", "any (scoped)")},
        "/api/v1/sections/{section_id}/learners": {"get": _op("A section's roster", "its educator, admin, service")},
        "/api/v1/sections/{section_id}/enrollments/{learner_id}": {
            "put": _op(
                f"Enroll a learner or set the enrollment status ({', '.join(ENROLLMENT_STATUSES)})",
                "service, admin",
                "EnrollmentPut",
                {"200": {"description": "updated"}, "201": {"description": "created"}, "404": ERROR, "422": ERROR},
            )
        },
    }
    paths["/api/v1/learners/{external_id}/analytics"] = {
        "get": _op(
            "Metrics, score trend, score forecast with prediction interval, explainable risk, patterns, completion forecasts, "
            "grades by subject and skill mastery",
            "self, their educators, admin, service",
            query=("horizon", "deadline"),
        )
    }
    for name in ("sections", "courses", "subjects", "exams"):
        paths[f"/api/v1/{name}/{{external_id}}/analytics"] = {
            "get": _op(
                f"Cohort analytics of a {name[:-1]}: average, pass rate, grade bands, attendance, risk counts, top and low "
                "performers, weekly average",
                "educator (own sections), admin, service",
                query=("pass_mark",),
            )
        }
    paths["/api/v1/sections/{external_id}/analytics/history"] = {
        "get": _op(
            "The section's daily cohort aggregates, newest first",
            "educator (own sections), admin, service",
            query=("limit",),
        )
    }
    alert_filters = ("learner", "types", "severity", "status", "limit", "before")
    paths.update(
        {
            "/api/v1/progress/performance-alerts/": {
                "get": _op(
                    "Alerts with statistics (total last week, frequency by type, average per day): your own (learners), your "
                    "learners' (educators), anyone's (admins); ?learner= narrows to one learner",
                    "any (scoped)",
                    query=alert_filters,
                )
            },
            "/api/v1/alerts/statistics": {
                "get": _op("Alert counts by status, severity and type", "any (scoped)", query=alert_filters)
            },
            "/api/v1/alerts/{alert_id}/acknowledge": {
                "post": _op(
                    "Acknowledge an open alert with an optional note",
                    "learner (own), educator (their learners), admin",
                    "AcknowledgeRequest",
                    {"200": {"description": "acknowledged"}, "404": ERROR, "409": ERROR, "422": ERROR},
                )
            },
            "/api/v1/alerts/{alert_id}/feedback": {
                "post": _op(
                    "Say whether an alert was useful (useful, not_useful, false_alarm) with an optional note; "
                    "giving a verdict again replaces yours",
                    "educator (their learners), admin",
                    "FeedbackRequest",
                    {"200": {"description": "recorded"}, "403": ERROR, "404": ERROR, "422": ERROR},
                )
            },
            "/api/v1/alerts/quality": {
                "get": _op(
                    "Per rule over the alerts you can see: raised, acknowledged, feedback counts, share judged "
                    "useful, median hours to acknowledge, recovery within 14 days after acknowledged vs "
                    "unacknowledged alerts",
                    "educator (their learners), admin",
                    query=alert_filters,
                )
            },
            "/api/v1/alerts/history": {
                "get": _op(
                    "Every alert state change: who, when, from and to which status",
                    "any (scoped)",
                    query=("limit", "before"),
                )
            },
            "/api/v1/alerts/preferences": {
                "get": _op(
                    "Your notification preferences and the thresholds in force for you (learner) or for ?section= "
                    "(educator)",
                    "any",
                    query=("section",),
                ),
                "put": _op(
                    "Set notification preferences and thresholds ({rule: {parameter: value}}) for yourself (learner) or "
                    "?section= (educator)",
                    "any",
                    "PreferencesPut",
                    query=("section",),
                ),
            },
            "/api/v1/alerts/rules": {
                "get": _op(
                    "Every alert rule with its default thresholds, each parameter's meaning and unit, its design false alarm rate",
                    "any",
                )
            },
            "/api/v1/notifications/": {
                "get": _op("Open alerts matching your preferences", "any (scoped)", query=("limit", "before"))
            },
            "/api/v1/admin/thresholds": {
                "get": _op("Threshold overrides", "admin"),
                "put": _op("Create or replace a threshold override for a scope", "admin", "OverridePut"),
            },
            "/api/v1/admin/users/{external_id}/revoke-tokens": {
                "post": _op(
                    "Revoke every token and sign-in session of a user issued until now (credential rotation: "
                    "revoke, then mint a new token); the user's open WebSockets close",
                    "admin",
                    responses={"200": {"description": "revoked"}, "401": ERROR, "403": ERROR, "404": ERROR},
                )
            },
            "/api/v1/admin/audit": {
                "get": _op(
                    "The audit log, newest first: token minting, role and activation changes, threshold changes, "
                    "alert acknowledgements and feedback, exports; with actor, time, target and details",
                    "admin",
                    query=("action", "actor", "target", "since", "until", "limit", "before"),
                )
            },
            "/api/v1/admin/thresholds/{override_id}": {
                "delete": _op(
                    "Remove a threshold override", "admin", responses={"204": {"description": "deleted"}, "404": ERROR}
                )
            },
        }
    )
    paths["/api/v1/events"]["post"]["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": ingest}},
    }
    paths.update(_websocket_paths())
    paths.update(export_paths(_op))  # the roster's parameters and the CSV/PDF downloads
    paths.update(progress_paths(_op, ERROR))
    paths["/api/v1/progress/performance-alerts/"]["get"]["description"] += f" {TYPES_NOTE}"
    for name in SPECS:
        paths[f"/api/v1/{name}/{{external_id}}"] = {
            "get": _op(
                f"Read one {name[:-1]}", "any authenticated user (people and sections: as the access rules allow)"
            ),
            "put": _op(
                f"Create (201) or update (200) one {name[:-1]} by external id",
                "service, admin",
                f"{name.title()}Put",
                {"200": {"description": "updated"}, "201": {"description": "created"}, "403": ERROR, "422": ERROR},
            ),
        }
    for path, item in paths.items():
        params = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}, "description": PATH_PARAM_DOC[p]}
            for p in PATH_PARAM_DOC
            if f"{{{p}}}" in path
        ]
        for op in item.values():
            op["parameters"] = params + op.get("parameters", [])
    return paths


def _request_schemas() -> dict[str, Any]:
    return {
        "TokenRequest": object_schema(
            {"user": Field("str", required=True, max_length=128), "ttl": Field("int", minimum=1)}
        ),
        "EnrollmentPut": object_schema({"status": Field("str", choices=ENROLLMENT_STATUSES)}),
        "AcknowledgeRequest": object_schema({"note": Field("str", max_length=2000)}),
        "FeedbackRequest": object_schema(FEEDBACK_FIELDS, required=("verdict",)),
        "PreferencesPut": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "types": {"type": "array", "nullable": True, "items": {"type": "string", "enum": list(RULES)}},
                "thresholds": {
                    "type": "object",
                    "additionalProperties": {"type": "object", "additionalProperties": {"type": "number"}},
                },
                **object_schema(PREFERENCE_FIELDS)["properties"],
            },
        },
        "OverridePut": object_schema(OVERRIDE_FIELDS),
        "AttendanceRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["section", "date", "records"],
            "properties": {
                "section": {"type": "string"},
                "date": {"type": "string", "format": "date"},
                "records": {
                    "type": "array",
                    "maxItems": MAX_BATCH,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["learner", "status"],
                        "properties": {
                            "id": {"type": "string"},
                            "learner": {"type": "string"},
                            "status": field_schema(KIND_FIELDS["attendance"]["status"]),
                        },
                    },
                },
            },
        },
        "GradesRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["grades"],
            "properties": {
                "occurred_at": {"type": "string", "format": "date-time"},
                "grades": {
                    "type": "array",
                    "maxItems": MAX_BATCH,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["learner", "marks"],
                        "properties": {
                            "id": {"type": "string"},
                            "learner": {"type": "string"},
                            "marks": {"type": "number", "minimum": 0},
                        },
                    },
                },
            },
        },
    }


@lru_cache(maxsize=1)
def build_spec() -> dict[str, Any]:
    """The whole document; built once per process."""
    components = _components()
    components["schemas"].update(_request_schemas())
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "LearnPulse API",
            "version": "1.0.0",
            "description": "Real-time learner performance tracking. Errors always have the shape "
            '{"error": {"status", "code", "message", "details": [{"path", "reason"}]}}.',
        },
        "paths": _paths(),
        "components": components,
    }
