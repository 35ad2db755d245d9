"""OpenAPI entries for the roster endpoints and the downloads (merged into api/openapi.py's paths)."""

from __future__ import annotations

from typing import Any

from api.roster_args import FILTER_ARGS, PAGE_ARGS

ROSTER_NOTE = (
    "Each learner carries average, recent_average, trend_direction, engagement, attendance_percent, risk_light "
    "(green/amber/red, grey = too little data), risk_probability, open_alerts and open_alert_rules, as last "
    "stored by the worker. sort: id, name, external_id or any of those columns; order: asc|desc (learners "
    "without a value last); risk: a light; rule: has an open alert of this rule; q: part of the name or "
    "external id; cursor: the last next_cursor. An unknown parameter is a 400 naming it."
)
CSV_NOTE = (
    "UTF-8 CSV with a BOM, RFC 4180 quoting, streamed. Text cells starting with = + - @ tab or CR get a "
    "leading single quote so a spreadsheet never runs them as formulas."
)


def export_paths(op: Any) -> dict[str, Any]:
    """The roster, CSV and PDF paths, built with openapi._op (passed in to avoid an import cycle)."""
    return _roster_paths(op) | _download_paths(op)


def _roster_paths(op: Any) -> dict[str, Any]:
    return {
        "/api/v1/learners": {
            "get": op(
                "Learners you can see, with their roster figures (default: newest first; `before` still pages that)",
                "any (scoped)",
                query=(*FILTER_ARGS, *PAGE_ARGS, "before"),
            )
        },
        "/api/v1/sections/{section_id}/learners": {
            "get": op(
                f"A section's roster. {ROSTER_NOTE}", "its educator, admin, service", query=FILTER_ARGS + PAGE_ARGS
            )
        },
    }


def _download_paths(op: Any) -> dict[str, Any]:
    downloads = {"200": {"description": "a file download"}, "400": {"$ref": "#/components/responses/Error"}}
    downloads.update({code: {"$ref": "#/components/responses/Error"} for code in ("401", "403", "404")})
    return {
        "/api/v1/sections/{section_id}/export.csv": {
            "get": op(
                f"The roster as CSV (roster filters). {CSV_NOTE}",
                "its educator, admin, service",
                responses=downloads,
                query=FILTER_ARGS,
            )
        },
        "/api/v1/alerts/export.csv": {
            "get": op(
                f"The alerts you can see as CSV, newest first. {CSV_NOTE}",
                "any (scoped)",
                responses=downloads,
                query=("learner", "types", "severity", "status"),
            )
        },
        "/api/v1/learners/{external_id}/events.csv": {
            "get": op(
                f"A learner's events as CSV, newest first. {CSV_NOTE}",
                "self, their educators, admin, service",
                responses=downloads,
                query=("kind", "since", "until"),
            )
        },
        "/api/v1/learners/{external_id}/report.pdf": {
            "get": op(
                "A printable learner report (figures, trend, forecast, completion, risk, scores, alerts)",
                "self, their educators, admin, service",
                responses=downloads,
            )
        },
        "/api/v1/sections/{section_id}/report.pdf": {
            "get": op(
                "A printable section report (cohort figures, grade bands, risk, roster, open alerts)",
                "its educator, admin, service",
                responses=downloads,
                query=(*FILTER_ARGS, "pass_mark"),
            )
        },
    }
