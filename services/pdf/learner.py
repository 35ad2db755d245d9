"""The learner report for a parent meeting: figures, trend, forecast, completion, risk and why, recent
scores and alerts. Every number comes from services.reports.learner_report (the REST analytics)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from reportlab.platypus import KeepTogether, Spacer

from analytics.cohort import DEFAULT_PASS_MARK
from models import Alert, Event, User, db
from services.pdf.charts import scores_chart
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
    paragraph,
)
from services.reports import learner_report

RECENT_SCORES = 20
HORIZON_DAYS = 14.0


def _recent_scores(learner_id: int) -> list[tuple[str, float]]:
    """The last assessments as (date label, percent), oldest first."""
    rows = db.session.execute(
        sa.select(Event.occurred_at, Event.score, Event.max_score)
        .where(Event.learner_id == learner_id, Event.kind == "assessment", Event.max_score > 0)
        .order_by(Event.occurred_at.desc(), Event.id.desc())
        .limit(RECENT_SCORES)
    ).all()
    return [(when.strftime("%d %b"), 100.0 * score / top) for when, score, top in reversed(rows)]


def _open_alerts(learner_id: int) -> list[Alert]:
    return list(
        db.session.scalars(
            sa.select(Alert).where(Alert.learner_id == learner_id, Alert.status != "resolved").order_by(Alert.id.desc())
        )
    )


def _headline(report: dict[str, Any]) -> list[tuple[str, str]]:
    m, trend, forecast = report["metrics"], report["trend"], report["forecast"]
    low, high = forecast["interval"]
    slope = trend["slope_per_assessment"]
    return [
        ("Average score", fmt(m["average_score"], "%")),
        ("Recent average", fmt(m["recent_average"], "%")),
        ("Trend" + (f" ({slope:+.1f} points per assessment)" if slope is not None else ""), trend["direction"]),
        (
            f"Forecast in {forecast['horizon_days']:.0f} days ({forecast['level']:.0%} range {fmt(low)}\u2013{fmt(high)})",
            fmt(forecast["predicted_score"], "%"),
        ),
        ("Engagement (0\u2013100)", fmt(m["engagement"])),
        ("Attendance", fmt(m["attendance_percent"], "%")),
        ("Assessments taken", fmt(m["assessments"])),
        ("Days since last activity", fmt(m["days_since_activity"])),
    ]


def _risk(report: dict[str, Any]) -> list[Any]:
    risk = report["risk"]
    light = risk["light"]
    story = [
        heading("Risk"),
        data_table(
            ["Risk light", "Probability of failing or dropping out", "Model"],
            [
                [
                    colored(light.upper(), LIGHT_COLORS[light]),
                    "not enough data yet" if risk["probability"] is None else f"{risk['probability']:.0%}",
                    risk["model"].replace("_", " "),
                ]
            ],
            [1, 2, 1],
        ),
        Spacer(1, 4),
    ]
    factors = [
        [f["feature"].replace("_", " "), fmt(f["value"], digits=2), f"{f['contribution']:+.2f}"]
        for f in risk["top_factors"]
    ]
    if factors:
        story += [paragraph("What raises the risk most (contribution in log-odds):", "muted"), Spacer(1, 2)]
        story.append(data_table(["Factor", "Value", "Contribution"], factors, [3, 1, 1]))
    else:
        story.append(empty_note("No factor raises this learner's risk above the typical learner's."))
    return story


def _completion(report: dict[str, Any]) -> list[Any]:
    rows = [
        [
            c["course"],
            f"{c['modules_completed']} of {c['modules_total']}",
            fmt(c["rate_per_week"], digits=2),
            c["predicted_completion"] or "\u2014",
            " to ".join(d or "\u2014" for d in c["interval"]),
        ]
        for c in report["completion"]
    ]
    if not rows:
        return [heading("Course completion"), empty_note("No course work recorded yet.")]
    level = report["completion"][0]["level"]
    header = ["Course", "Modules done", "Modules / week", "Expected completion", f"{level:.0%} range"]
    return [heading("Course completion"), data_table(header, rows, [2, 1.2, 1.2, 1.5, 2.2])]


def _alerts(alerts: list[Alert]) -> list[Any]:
    if not alerts:
        return [heading("Open alerts"), empty_note("No open alerts.")]
    rows = [
        [
            colored(a.severity, SEVERITY_COLORS.get(a.severity, LIGHT_COLORS["grey"])),
            a.title,
            a.status,
            a.created_at.strftime("%Y-%m-%d"),
            a.message,
        ]
        for a in alerts
    ]
    return [
        heading("Open alerts"),
        data_table(["Severity", "Alert", "Status", "Since", "Details"], rows, [1, 1.7, 1.1, 1.1, 4], wrap=(1, 4)),
    ]


def _scores(scores: list[tuple[str, float]]) -> list[Any]:
    if not scores:
        return [heading("Recent scores"), empty_note("No assessment scores yet.")]
    return [
        KeepTogether(
            [heading("Recent scores"), scores_chart([d for d, _ in scores], [p for _, p in scores], DEFAULT_PASS_MARK)]
        )
    ]


def _subjects_and_skills(report: dict[str, Any]) -> list[Any]:
    story: list[Any] = []
    if report["grades_by_subject"]:
        rows = [[subject, fmt(avg, "%")] for subject, avg in report["grades_by_subject"].items()]
        story += [heading("Grades by subject"), data_table(["Subject", "Average mark"], rows, [3, 1])]
    if report["mastery"]:
        rows = [
            [m["skill"], f"{m['p_mastery']:.0%}", m["attempts"], "yes" if m["mastered"] else "not yet"]
            for m in report["mastery"]
        ]
        story += [
            heading("Skill mastery"),
            data_table(["Skill", "Mastery", "Attempts", "Mastered"], rows, [3, 1, 1, 1]),
        ]
    return story


def learner_document(learner: User) -> Document:
    """The learner's report, gathered (call .render() for the PDF bytes)."""
    report = learner_report(learner, HORIZON_DAYS, None)
    generated = datetime.now(UTC)
    name = learner.name or learner.external_id
    story = [
        heading("Key figures"),
        figures(_headline(report)),
        *_risk(report),
        *_scores(_recent_scores(learner.id)),
        *_completion(report),
        *_subjects_and_skills(report),
        *_alerts(_open_alerts(learner.id)),
    ]
    subtitle = f"Learner {learner.external_id} \u00b7 figures as of {report['as_of'][:16].replace('T', ' ')} UTC"
    return Document(f"Learner report: {name}", subtitle, story, generated, {"horizon_days": int(HORIZON_DAYS)})
