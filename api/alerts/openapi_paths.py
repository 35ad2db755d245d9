"""OpenAPI entries of the alert lists, lifecycle, feedback, quality, preferences, thresholds and audit
(merged into api/openapi's paths)."""

from __future__ import annotations

from typing import Any

from analytics.achievements import ACHIEVEMENT_KINDS
from api.openapi.kit import ERROR, op

ALERT_FILTERS = ("learner", "types", "severity", "status", "limit", "before")
# Alert lists, lifecycle, feedback, quality, preferences, the admin's overrides and audit (a table).
ALERT_PATHS: dict[str, Any] = {
    "/api/v1/progress/performance-alerts/": {
        "get": op(
            "Alerts with statistics (total last week, frequency by type, average per day): your own (learners), your "
            "learners' (educators), anyone's (admins); ?learner= narrows to one learner",
            "any (scoped)",
            query=ALERT_FILTERS,
        )
    },
    "/api/v1/achievements": {
        "get": op(
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
        "get": op("Alert counts by status, severity and type", "any (scoped)", query=ALERT_FILTERS)
    },
    "/api/v1/alerts/{alert_id}/acknowledge": {
        "post": op(
            "Acknowledge an open alert with an optional note",
            "learner (own), educator (their learners), admin",
            "AcknowledgeRequest",
            {"200": {"description": "acknowledged"}, "404": ERROR, "409": ERROR, "422": ERROR},
        )
    },
    "/api/v1/alerts/{alert_id}/feedback": {
        "post": op(
            "Say whether an alert was useful (useful, not_useful, false_alarm) with an optional note; "
            "giving a verdict again replaces yours",
            "educator (their learners), admin",
            "FeedbackRequest",
            {"200": {"description": "recorded"}, "403": ERROR, "404": ERROR, "422": ERROR},
        )
    },
    "/api/v1/alerts/quality": {
        "get": op(
            "Per rule over the alerts you can see: raised, acknowledged, feedback counts, share judged "
            "useful, median hours to acknowledge, recovery within 14 days after acknowledged vs "
            "unacknowledged alerts",
            "educator (their learners), admin",
            query=ALERT_FILTERS,
        )
    },
    "/api/v1/alerts/history": {
        "get": op(
            "Every alert state change: who, when, from and to which status",
            "any (scoped)",
            query=("limit", "before"),
        )
    },
    "/api/v1/alerts/preferences": {
        "get": op(
            "Your notification preferences and the thresholds in force for you (learner) or for ?section= (educator)",
            "any",
            query=("section",),
        ),
        "put": op(
            "Set notification preferences and thresholds ({rule: {parameter: value}}) for yourself (learner) or "
            "?section= (educator)",
            "any",
            "PreferencesPut",
            query=("section",),
        ),
    },
    "/api/v1/alerts/rules": {
        "get": op(
            "Every alert rule with its default thresholds, each parameter's meaning and unit, its design false alarm rate",
            "any",
        )
    },
    "/api/v1/notifications/": {
        "get": op("Open alerts matching your preferences", "any (scoped)", query=("limit", "before"))
    },
    "/api/v1/admin/thresholds": {
        "get": op("Threshold overrides", "admin"),
        "put": op("Create or replace a threshold override for a scope", "admin", "OverridePut"),
    },
    "/api/v1/admin/users/{external_id}/revoke-tokens": {
        "post": op(
            "Revoke every token and sign-in session of a user issued until now (credential rotation: "
            "revoke, then mint a new token); the user's open WebSockets close",
            "admin",
            responses={"200": {"description": "revoked"}, "401": ERROR, "403": ERROR, "404": ERROR},
        )
    },
    "/api/v1/admin/audit": {
        "get": op(
            "The audit log, newest first: token minting, role and activation changes, threshold changes, "
            "alert acknowledgements and feedback, exports; with actor, time, target and details",
            "admin",
            query=("action", "actor", "target", "since", "until", "limit", "before"),
        )
    },
    "/api/v1/admin/thresholds/{override_id}": {
        "delete": op(
            "Remove a threshold override", "admin", responses={"204": {"description": "deleted"}, "404": ERROR}
        )
    },
}


ALERT_LISTS = {
    "/api/v1/progress/performance-alerts/": "alerts",
    "/api/progress/performance-alerts/": "alerts",
    "/api/v1/notifications/": "notifications",
}


def _alert_list(field: str) -> dict[str, Any]:
    """The 200 body of an alert list: the alerts under `field` and the keyset cursor."""
    items = {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}}
    extra = {"current_alerts": items} if field == "alerts" else {}
    return {
        "type": "object",
        "properties": {field: items, **extra, "next_before": {"type": "integer", "nullable": True}},
    }


def describe_alert_lists(paths: dict[str, Any]) -> None:
    """Give each alert list's 200 response its body schema (the lists come from here and from progress)."""
    for path, field in ALERT_LISTS.items():
        paths[path]["get"]["responses"]["200"]["content"] = {"application/json": {"schema": _alert_list(field)}}
