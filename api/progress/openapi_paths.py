"""OpenAPI entries of the brief's progress API, under both prefixes (api/openapi.py merges them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from analytics.alert_types import ALERT_TYPES, TYPE_OF_RULE
from analytics.progress_level import LEVEL_EDGES, LEVELS
from api.progress import PREFIXES
from services.progress_views import PREDICTION_CONFIDENCE

READERS = "the learner (own data; ?learner= optional), their educators, admins, services (?learner= required)"
LEVEL_RULE = (
    f"current_level: mean of the available 0-100 components progress_percentage, average_score and 100 x share "
    f"of attempted skills mastered; below {LEVEL_EDGES[0]:g} {LEVELS[0]}, below {LEVEL_EDGES[1]:g} {LEVELS[1]}, "
    f"else {LEVELS[2]}."
)
TYPE_MAPPING = ", ".join(f"{rule} -> {kind}" for rule, kind in TYPE_OF_RULE.items())
TYPES_NOTE = (
    f"types: rule names, `all`, or the brief's alert types ({', '.join(ALERT_TYPES)}); mapping: {TYPE_MAPPING}; "
    "every alert carries `type` and `action_required` (false for achievements). severity: low, medium, high or `all`."
)


def _described(op: dict[str, Any], note: str) -> dict[str, Any]:
    op["description"] = f"{op['description']} {note}"
    return op


def _reads(op: Callable[..., dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """GET operations, relative to a prefix."""
    return {
        "/real-time-dashboard/": _described(
            op(
                "Progress summary, today's metrics, last 10 events, 30-day trends, insights",
                READERS,
                query=("learner",),
            ),
            LEVEL_RULE + " insights are worded for the learner when they read their own data, else for the educator.",
        ),
        "/predictive-analytics/": _described(
            op(
                "Score and completion forecasts with intervals, risk factors, recommendations",
                READERS,
                query=("learner", "horizon"),
            ),
            "prediction_confidence: " + PREDICTION_CONFIDENCE + ".",
        ),
        "/trend-analysis/": op(
            "Learning, performance (moving averages, volatility), engagement (consistency, weekly pattern), "
            "productivity peaks, learning-style patterns and insights over `period` days (7-365, default 30); "
            "type: comprehensive, performance, engagement, learning",
            READERS,
            query=("learner", "period", "type"),
        ),
        "/analytics/comprehensive/": op(
            "The full learner report with the brief's summary, metrics and insights",
            READERS,
            query=("learner", "horizon", "deadline"),
        ),
        "/metrics/user/{external_id}/": op("A learner's metrics now, counters and last snapshot (`me` = you)", READERS),
        "/summary/{external_id}/": op(
            "A learner's progress summary, metrics, open alerts, insights (`me` = you)", READERS
        ),
        "/notifications/": op(
            "Open alerts matching your notification preferences", "any (scoped)", query=("learner", "limit", "before")
        ),
        "/snapshots/": op(
            "A learner's stored metric snapshots, newest first",
            READERS,
            query=("learner", "since", "until", "limit", "before"),
        ),
    }


def _writes(op: Callable[..., dict[str, Any]], error: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """POST operations, relative to a prefix."""
    return {
        "/analytics/generate/": op(
            "Recompute a learner's (or `section`'s) analytics on the worker now; the worker publishes metrics_update",
            "the learner (own), their educators (learners or own sections), admins, services",
            query=("learner", "section"),
            responses={
                "202": {"description": "queued, with task_id"},
                "400": error,
                "403": error,
                "404": error,
                "503": error,
            },
        ),
        "/snapshots/create/": op(
            "Store the learner's current metrics as a snapshot and publish metrics_update",
            READERS,
            query=("learner",),
            responses={"201": {"description": "stored"}, "400": error, "404": error},
        ),
        "/track/": _described(
            op(
                "Record your own activity or a session heartbeat",
                "learner (own activity only)",
                responses={
                    "200": {"description": "already stored"},
                    "201": {"description": "stored"},
                    "403": error,
                    "422": error,
                },
            ),
            "Body: an activity event (fields of Event_activity; learner and kind default to you and activity; "
            "occurred_at defaults to now) plus optional `heartbeat: true` (or kind heartbeat): then it is stored as a "
            "`heartbeat` event, which extends your learning session (duration_seconds: since the last beat) but "
            "counts as no activity, and is neither evaluated nor published. score, max_score, marks, grade, exam, "
            "status, date, skill, another learner or another kind: 403 naming the field.",
        ),
    }


def progress_paths(op: Callable[..., dict[str, Any]], error: dict[str, Any]) -> dict[str, Any]:
    """Every progress path under both prefixes; performance-alerts only unversioned (api.alerts has v1)."""
    relative = {
        **{p: {"get": o} for p, o in _reads(op).items()},
        **{p: {"post": o} for p, o in _writes(op, error).items()},
    }
    paths = {f"{prefix}{path}": item for prefix in PREFIXES.values() for path, item in relative.items()}
    paths[f"{PREFIXES['progress']}/performance-alerts/"] = {
        "get": _described(
            op(
                "Alerts with current_alerts and alert_statistics (total_alerts_last_week, alert_frequency by type, "
                "average_alerts_per_day), plus our alerts, statistics and paging",
                "any (scoped)",
                query=("learner", "types", "severity", "status", "limit", "before"),
            ),
            TYPES_NOTE,
        )
    }
    return paths
