"""The section report for a staff meeting: cohort figures, grade bands, risk counts, the roster and open
alerts. Cohort numbers come from the section's stored state as the REST section analytics read it
(services.cohorts), the roster from services.roster (the roster endpoint), so the PDF never disagrees with
the API and nothing CPU-heavy runs for it but the layout (off the event loop: api.exports.pdf_routes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from reportlab.platypus import KeepTogether

from models import Alert, Enrollment, Section, User, db
from services.cohorts import stored_section_report
from services.pdf.charts import bands_chart
from services.pdf.layout import (
    LIGHT_COLORS,
    SEVERITY_COLORS,
    Document,
    colored,
    data_table,
    empty_note,
    figures,
    fmt,
    heading,
)
from services.roster import RosterQuery, iter_roster, section_light_counts, section_roster, standing_json

MAX_ALERT_ROWS = 200
SEVERITY_RANK = sa.case({"high": 0, "medium": 1}, value=Alert.severity, else_=2)


def _summary(cohort: dict[str, Any], grey: int) -> list[Any]:
    risk = cohort["risk"]
    items = [
        ("Learners", fmt(cohort["learners"])),
        ("Average score", fmt(cohort["average"], "%")),
        (
            f"Pass rate (pass mark {cohort['pass_mark']:.0f}%)",
            fmt(None if cohort["pass_rate"] is None else 100 * cohort["pass_rate"], "%"),
        ),
        ("Attendance", fmt(cohort["attendance_percent"], "%")),
        ("Green (low risk)", fmt(risk["green"])),
        ("Amber (watch)", fmt(risk["amber"])),
        ("Red (needs help)", fmt(risk["red"])),
        ("Grey on the roster (too little data)", fmt(grey)),
    ]
    return [heading("Summary"), figures(items)]


def _roster(rows: list[dict[str, Any]]) -> list[Any]:
    if not rows:
        return [heading("Roster"), empty_note("No learner matches the filters.")]
    body = [
        [
            r["name"] or "\u2014",
            r["external_id"],
            fmt(r["average"], "%"),
            fmt(r["recent_average"], "%"),
            r["trend_direction"] or "\u2014",
            fmt(r["engagement"]),
            fmt(r["attendance_percent"], "%"),
            colored(r["risk_light"], LIGHT_COLORS[r["risk_light"]]),
            fmt(r["open_alerts"]),
        ]
        for r in rows
    ]
    header = ["Name", "Id", "Average", "Recent", "Trend", "Engagement", "Attendance", "Risk", "Alerts"]
    return [
        heading(f"Roster ({len(rows)} learners)"),
        data_table(header, body, [2.1, 0.8, 0.9, 0.9, 1.0, 1.35, 1.25, 0.7, 0.7]),
    ]


def _alerts(section_id: int) -> list[Any]:
    members = sa.select(Enrollment.learner_id).where(Enrollment.section_id == section_id)
    rows = db.session.execute(
        sa.select(Alert, User.external_id, User.name)
        .join(User, User.id == Alert.learner_id)
        .where(Alert.learner_id.in_(members), Alert.status != "resolved")
        .order_by(SEVERITY_RANK, Alert.id.desc())  # who needs help first
        .limit(MAX_ALERT_ROWS)
    ).all()
    if not rows:
        return [heading("Open alerts"), empty_note("No open alerts.")]
    body = [
        [
            name or external_id,
            colored(a.severity, SEVERITY_COLORS.get(a.severity, LIGHT_COLORS["grey"])),
            a.title,
            a.status,
            a.created_at.strftime("%Y-%m-%d"),
        ]
        for a, external_id, name in rows
    ]
    return [
        heading(f"Open alerts ({len(rows)})"),
        data_table(["Learner", "Severity", "Alert", "Status", "Since"], body, [2, 1, 3, 1.2, 1.2]),
    ]


def section_document(section: Section, query: RosterQuery, pass_mark: float) -> Document:
    """The section's report, gathered (call .render() for the PDF bytes); the roster follows the roster filters."""
    generated = datetime.now(UTC)
    cohort = stored_section_report(section.id, section.course_id, pass_mark)
    rows = [
        {"external_id": row.external_id, "name": row.name, "status": row.status, **standing_json(row)}
        for row in iter_roster(section_roster(section.id), query)
    ]
    story = [
        *_summary(cohort, section_light_counts(section.id)["grey"]),
        KeepTogether([heading("Grade distribution"), bands_chart(cohort["grade_distribution"])]),
        *_roster(rows),
        *_alerts(section.id),
    ]
    educator = db.session.get(User, section.educator_id) if section.educator_id else None
    taught = f" \u00b7 taught by {educator.name or educator.external_id}" if educator else ""
    subtitle = (
        f"Section {section.external_id}{taught} \u00b7 figures as of {cohort['as_of'][:16].replace('T', ' ')} UTC"
    )
    filters = {"pass_mark": f"{pass_mark:.0f}", **query.filters()}
    return Document(f"Section report: {section.name}", subtitle, story, generated, filters)
