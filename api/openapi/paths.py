"""Every HTTP operation of the document, with roles, parameters and responses."""

from __future__ import annotations

import copy
from typing import Any

from api.alerts.openapi_paths import ALERT_PATHS, describe_alert_lists
from api.analytics.openapi_paths import analytics_paths
from api.entities.specs import SPECS
from api.events.schemas import MAX_BATCH
from api.exports.openapi_paths import export_paths
from api.openapi.kit import ERROR, INGEST_RESPONSES, PATH_PARAM_DOC, _op
from api.openapi.websocket import websocket_paths
from api.progress.openapi_paths import TYPES_NOTE, progress_paths
from api.webhooks.openapi_paths import webhook_paths
from api.xapi.openapi_paths import xapi_paths
from models import ENROLLMENT_STATUSES

INGEST_BODY = {"oneOf": [{"$ref": "#/components/schemas/Event"}, {"$ref": "#/components/schemas/EventBatch"}]}


# Health, the document, auth, ingest, learners and sections (a table, built once at import).
CORE_PATHS: dict[str, Any] = {
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
        "post": _op("Marks for one exam", "service, admin, educator (own section)", "GradesRequest", INGEST_RESPONSES)
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


def _entity_paths() -> dict[str, Any]:
    """GET and PUT of every entity collection."""
    paths: dict[str, Any] = {}
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
    return paths


def _with_path_parameters(paths: dict[str, Any]) -> dict[str, Any]:
    """Declare each {parameter} of a path on its operations."""
    for path, item in paths.items():
        params = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}, "description": PATH_PARAM_DOC[p]}
            for p in PATH_PARAM_DOC
            if f"{{{p}}}" in path
        ]
        for op in item.values():
            op["parameters"] = params + op.get("parameters", [])
    return paths


def all_paths() -> dict[str, Any]:
    """Every operation of the API, WebSockets and the brief's paths included."""
    paths = copy.deepcopy({**CORE_PATHS, **analytics_paths(), **ALERT_PATHS, **_entity_paths()})  # tables stay pristine
    paths["/api/v1/events"]["post"]["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": INGEST_BODY}},
    }
    paths.update(websocket_paths())
    paths.update(export_paths(_op))  # the roster's parameters and the CSV/PDF downloads
    paths.update(progress_paths(_op, ERROR))
    paths.update(webhook_paths())
    paths.update(xapi_paths())
    paths["/api/v1/progress/performance-alerts/"]["get"]["description"] += f" {TYPES_NOTE}"
    describe_alert_lists(paths)
    return _with_path_parameters(paths)
