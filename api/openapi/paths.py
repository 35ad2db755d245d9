"""Every HTTP operation of the document, with roles, parameters and responses."""

from __future__ import annotations

import copy
from typing import Any

from analytics.achievements import ACHIEVEMENT_KINDS
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


def _analytics_paths() -> dict[str, Any]:
    """Learner and cohort analytics."""
    paths: dict[str, Any] = {}
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
                "performers, weekly average"
                + ("" if name == "exams" else "; from the figures the worker keeps per section (as_of)"),
                "educator (own sections), admin, service",
                query=("pass_mark",),
            )
        }
    paths["/api/v1/sections/{external_id}/summary"] = {
        "get": _op(
            "The section's cohort figures as the worker last stored them (as_of): what dashboards read; "
            "refreshed after evaluations, at most every COHORT_SUMMARY_INTERVAL, and daily",
            "educator (own sections), admin, service",
        )
    }
    paths["/api/v1/learners/{external_id}/sessions"] = {
        "get": _op(
            "A learner's learning sessions (a pause over gap_minutes, default SESSION_GAP_MINUTES = 30, ends one; "
            "reported durations and track/ heartbeats bridge pauses): summary (sessions, sessions_per_week, "
            "total/mean/median/longest minutes, events_per_session, time_of_day, preferred_time_of_day, open_now, "
            "last_active), current_session, and the latest `limit` sessions (start, end, minutes, events, "
            "active_minutes, activity by kind); days 1-365 (default 30)",
            "self, their educators, admin, service",
            query=("days", "gap_minutes", "limit"),
        )
    }
    paths["/api/v1/sections/{external_id}/sessions"] = {
        "get": _op(
            "Learning sessions of a section's learners: summary (learners, learners_with_sessions, sessions, "
            "sessions_per_learner_per_week, mean/median minutes, time_of_day, live_now), live_now (learners in "
            "an open session: learner, name, session_started, last_active, minutes, events), and each "
            "learner's session figures",
            "educator (own sections), admin, service",
            query=("days", "gap_minutes"),
        )
    }
    paths["/api/v1/sections/{external_id}/analytics/history"] = {
        "get": _op(
            "The section's daily cohort aggregates, newest first",
            "educator (own sections), admin, service",
            query=("limit",),
        )
    }
    return paths


ALERT_FILTERS = ("learner", "types", "severity", "status", "limit", "before")
# Alert lists, lifecycle, feedback, quality, preferences, the admin's overrides and audit (a table).
ALERT_PATHS: dict[str, Any] = {
    "/api/v1/progress/performance-alerts/": {
        "get": _op(
            "Alerts with statistics (total last week, frequency by type, average per day): your own (learners), your "
            "learners' (educators), anyone's (admins); ?learner= narrows to one learner",
            "any (scoped)",
            query=ALERT_FILTERS,
        )
    },
    "/api/v1/achievements": {
        "get": _op(
            "Achievements, newest first: streak milestones (7, 14, 30, 60, 100 days), module and course completion, "
            "first perfect score, personal best; each awarded once per learner (kind: "
            f"{', '.join(ACHIEVEMENT_KINDS)}; since: reached at or after; an unknown parameter is a 400)",
            "learner (own), educator (their learners), admin and service (all); ?learner= outside yours: 404",
            responses={
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AchievementList"}}},
                },
                "400": ERROR,
                "401": ERROR,
                "404": ERROR,
            },
            query=("learner", "kind", "since", "limit", "before"),
        )
    },
    "/api/v1/alerts/statistics": {
        "get": _op("Alert counts by status, severity and type", "any (scoped)", query=ALERT_FILTERS)
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
            query=ALERT_FILTERS,
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
            "Your notification preferences and the thresholds in force for you (learner) or for ?section= (educator)",
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


ALERT_LISTS = {
    "/api/v1/progress/performance-alerts/": "alerts",
    "/api/progress/performance-alerts/": "alerts",
    "/api/v1/notifications/": "notifications",
}


def _alert_list(field: str) -> dict[str, Any]:
    items = {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}}
    extra = {"current_alerts": items} if field == "alerts" else {}
    return {
        "type": "object",
        "properties": {field: items, **extra, "next_before": {"type": "integer", "nullable": True}},
    }


def all_paths() -> dict[str, Any]:
    """Every operation of the API, WebSockets and the brief's paths included."""
    paths = copy.deepcopy(
        {**CORE_PATHS, **_analytics_paths(), **ALERT_PATHS, **_entity_paths()}
    )  # tables stay pristine
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
    for path, field in ALERT_LISTS.items():  # what each alert in these lists looks like
        paths[path]["get"]["responses"]["200"]["content"] = {"application/json": {"schema": _alert_list(field)}}
    return _with_path_parameters(paths)
