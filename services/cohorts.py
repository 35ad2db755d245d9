"""Each section's cohort summary as of its last refresh: the worker refreshes the sections of the learners
it evaluates (at most once per COHORT_SUMMARY_INTERVAL per section, 10 minutes by default; a cohort report
of 1,000 learners costs a few hundred ms of worker CPU) and the daily task refreshes every section, so a
dashboard's handshake reads rows, not a cohort computation with an IsolationForest per section."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from analytics.cohort import DEFAULT_PASS_MARK
from models import Enrollment, Section, SectionSummary, db
from models.upsert import chunks_in, upsert_rows


def compute_summary(section_id: int, course_id: int | None, pass_mark: float = DEFAULT_PASS_MARK) -> dict[str, Any]:
    """The section's cohort report over its enrolled learners, as GET /sections/<id>/analytics computes it."""
    from services.reports import cohort_report  # noqa: PLC0415  (reports needs the app's config at call time)

    members = list(db.session.scalars(sa.select(Enrollment.learner_id).where(Enrollment.section_id == section_id)))
    return cohort_report(members, pass_mark, [course_id] if course_id else None)


def store_summaries(summaries: dict[int, dict[str, Any]], now: datetime) -> None:
    """Upsert section id -> cohort summary."""
    rows = [{"section_id": s, "summary": summary, "updated_at": now} for s, summary in summaries.items()]
    upsert_rows(SectionSummary, ["section_id"], rows, ["summary", "updated_at"])


def refresh_sections_of(learner_ids: Sequence[int], interval: timedelta | None = None) -> int:
    """Recompute the summaries of these learners' sections older than `interval` (default: the configured
    COHORT_SUMMARY_INTERVAL); returns how many were recomputed."""
    interval = interval if interval is not None else timedelta(seconds=current_app.config["COHORT_SUMMARY_INTERVAL"])
    now = datetime.now(UTC)
    sections: set[int] = set()
    for condition in chunks_in(Enrollment.learner_id, learner_ids):
        sections |= set(db.session.scalars(sa.select(Enrollment.section_id).where(condition).distinct()))
    if not sections:
        return 0
    fresh = set(
        db.session.scalars(
            sa.select(SectionSummary.section_id).where(
                SectionSummary.section_id.in_(sections), SectionSummary.updated_at > now - interval
            )
        )
    )
    stale = db.session.execute(
        sa.select(Section.id, Section.course_id).where(Section.id.in_(sections - fresh)).order_by(Section.id)
    ).all()
    store_summaries({section: compute_summary(section, course) for section, course in stale}, now)
    db.session.commit()
    return len(stale)


def section_summaries(sections: Sequence[tuple[int, int | None]]) -> dict[int, dict[str, Any]]:
    """Stored summaries of (section id, course id) pairs; a section never summarised is computed once now."""
    ids = [section for section, _ in sections]
    stored = dict(
        db.session.execute(
            sa.select(SectionSummary.section_id, SectionSummary.summary).where(SectionSummary.section_id.in_(ids))
        )
        .tuples()
        .all()
    )
    missing = {section: compute_summary(section, course) for section, course in sections if section not in stored}
    if missing:
        store_summaries(missing, datetime.now(UTC))
        db.session.commit()
    return stored | missing
