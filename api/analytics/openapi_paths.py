"""OpenAPI entries of learner and cohort analytics, sessions and history (merged into api/openapi's paths)."""

from __future__ import annotations

from typing import Any

from api.openapi.kit import op


def analytics_paths() -> dict[str, Any]:
    """Learner and cohort analytics, then learning sessions and the section's history."""
    return {**_analytics(), **_sessions_and_history()}


def _analytics() -> dict[str, Any]:
    """A learner's analytics, cohort analytics of sections, courses, subjects and exams, the stored summary."""
    paths: dict[str, Any] = {}
    paths["/api/v1/learners/{external_id}/analytics"] = {
        "get": op(
            "Metrics, score trend, score forecast with prediction interval, explainable risk, patterns, completion forecasts, "
            "grades by subject and skill mastery",
            "self, their educators, admin, service",
            query=("horizon", "deadline"),
        )
    }
    for name in ("sections", "courses", "subjects", "exams"):
        paths[f"/api/v1/{name}/{{external_id}}/analytics"] = {
            "get": op(
                f"Cohort analytics of a {name[:-1]}: average, pass rate, grade bands, attendance, risk counts, top and low "
                "performers, weekly average"
                + ("" if name == "exams" else "; from the figures the worker keeps per section (as_of)"),
                "educator (own sections), admin, service",
                query=("pass_mark",),
            )
        }
    paths["/api/v1/sections/{external_id}/summary"] = {
        "get": op(
            "The section's cohort figures as the worker last stored them (as_of): what dashboards read; "
            "refreshed after evaluations, at most every COHORT_SUMMARY_INTERVAL, and daily",
            "educator (own sections), admin, service",
        )
    }
    return paths


def _sessions_and_history() -> dict[str, Any]:
    """Learning sessions of a learner and of a section, and the section's daily aggregates."""
    paths: dict[str, Any] = {}
    paths["/api/v1/learners/{external_id}/sessions"] = {
        "get": op(
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
        "get": op(
            "Learning sessions of a section's learners: summary (learners, learners_with_sessions, sessions, "
            "sessions_per_learner_per_week, mean/median minutes, time_of_day, live_now), live_now (learners in "
            "an open session: learner, name, session_started, last_active, minutes, events), and each "
            "learner's session figures",
            "educator (own sections), admin, service",
            query=("days", "gap_minutes"),
        )
    }
    paths["/api/v1/sections/{external_id}/analytics/history"] = {
        "get": op(
            "The section's daily cohort aggregates, newest first",
            "educator (own sections), admin, service",
            query=("limit",),
        )
    }
    return paths
