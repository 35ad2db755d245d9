"""GET /learners/<id>/analytics and GET /{sections,courses,subjects,exams}/<id>/analytics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import Response, current_app

from analytics.cohort import DEFAULT_PASS_MARK
from api.access import (
    SEES_EVERYONE,
    find_or_404,
    not_found,
    only_visible,
    readable_learner,
    readable_section,
    section_unseen,
    sections_taught,
    staff_can_read_section,
)
from api.analytics import bp
from api.auth.guard import current_user, require_auth
from api.errors import ApiError
from api.query_args import date_arg, int_arg, reject_unknown_args
from models import CohortSnapshot, Enrollment, Exam, Grade, Section, SectionSummary, Subject, db
from services.cohort_exams import stored_exam
from services.cohort_members import summarize
from services.cohort_reads import CohortRows, course_rows, section_rows
from services.cohort_reports import cohort_body, cohort_report
from services.cohorts import section_summaries
from services.reports import learner_report

COHORT_ROLES = ("educator", "admin", "service")


def _deadline_days() -> float | None:
    deadline = date_arg("deadline")
    return None if deadline is None else (deadline - datetime.now(UTC).date()).days + 1.0


@bp.get("/learners/<external_id>/analytics")
@require_auth()
def learner_analytics(external_id: str):
    """Metrics, trend, score forecast (`horizon` days, default 14), risk, patterns, completion forecasts, mastery."""
    learner = readable_learner(current_user(), external_id)
    horizon = int_arg("horizon", 14, 1, 365)
    return learner_report(learner, float(horizon), _deadline_days())


def _pass_mark() -> float:
    return float(int_arg("pass_mark", int(DEFAULT_PASS_MARK), 0, 100))


def _cohort(sections: sa.Select, pass_mark: float) -> tuple[dict[str, Any], int]:
    """The cohort report of the given sections' learners whom the caller may see (every cohort view is
    narrowed so), aggregated from the figures the worker stores per section; and how many learners. One
    row per section: its course, the version of its stored figures and its visible learners as one string
    (a row per learner cost more to fetch than the report), so a repeat read is served from the process's
    reports (services.cohort_reports)."""
    stored = sa.and_(SectionSummary.section_id == Enrollment.section_id, SectionSummary.members.is_not(None))
    learners = sa.func.aggregate_strings(sa.cast(Enrollment.learner_id, sa.String), ",")
    enrolled = (
        sa.select(Enrollment.section_id, Section.course_id, SectionSummary.updated_at, learners)
        .join(Section, Section.id == Enrollment.section_id)
        .outerjoin(SectionSummary, stored)
        .where(Enrollment.section_id.in_(sections))
        .group_by(Enrollment.section_id, Section.course_id, SectionSummary.updated_at)
    )
    rows = db.session.execute(only_visible(enrolled, Enrollment.learner_id, current_user())).all()
    members = {section: np.array(ids.split(","), dtype=np.int64) for section, _, _, ids in rows}
    courses = {section: course for section, course, _, _ in rows}
    versions = {section: version for section, _, version, _ in rows}
    return cohort_report(members, courses, versions, pass_mark)


def _kept_answer(head: dict[str, str], found: CohortRows, pass_mark: float) -> tuple[Response, int]:
    """The JSON response `{**head, **report}` of the cohort report over `found`'s learners, as the view returning
    that dict gives it, and how many learners the report covers; its bytes kept per process with the report
    (services.cohort_reports.cohort_body)."""
    body, learners = cohort_body(head, found.members, found.courses, found.versions, pass_mark, _json_bytes)
    return current_app.response_class(body, mimetype=current_app.json.mimetype), learners


def _json_bytes(value: dict[str, Any]) -> bytes:
    """The body Flask's JSON response of `value` has (what returning the dict from a view sends)."""
    return current_app.json.response(value).get_data()


def _sections_of(column: sa.Column, entity_id: int) -> sa.Select:
    """Sections of a course or subject the caller may aggregate over: an educator's own, or all."""
    query = sa.select(Section.id).where(column == entity_id)
    if current_user().role not in SEES_EVERYONE:
        query = query.where(Section.id.in_(sections_taught(current_user().id)))
    return query


@bp.get("/sections/<external_id>/analytics")
@require_auth(*COHORT_ROLES)
def section_analytics(external_id: str):
    """Cohort analytics of one section, from the state the worker keeps fresh (`as_of`)."""
    found = section_rows(external_id)
    if found is None or not staff_can_read_section(current_user(), found.educator_id):  # learners: refused before
        raise section_unseen(external_id)
    return _kept_answer({"section": found.external_id}, found, _pass_mark())[0]


@bp.get("/courses/<external_id>/analytics")
@require_auth(*COHORT_ROLES)
def course_analytics(external_id: str):
    """Cohort analytics of a course's sections (an educator sees their own sections of it), from stored state."""
    user = current_user()
    found = course_rows(external_id, None if user.role in SEES_EVERYONE else user.id)
    if found is None:
        raise not_found("course", external_id)
    answer, learners = _kept_answer({"course": found.external_id}, found, _pass_mark())
    if not learners and user.role == "educator":
        raise ApiError(404, f"no course {external_id!r} that you teach")
    return answer


@bp.get("/subjects/<external_id>/analytics")
@require_auth(*COHORT_ROLES)
def subject_analytics(external_id: str):
    """Cohort analytics of a subject's sections (an educator sees their own sections of it), from stored state;
    a learner in sections of two courses of the subject counts once, over both courses."""
    subject = find_or_404(Subject, external_id)
    report, learners = _cohort(_sections_of(Section.subject_id, subject.id), _pass_mark())
    if not learners and current_user().role == "educator":
        raise ApiError(404, f"no subject {external_id!r} that you teach")
    return {"subject": subject.external_id, **report}


@bp.get("/exams/<external_id>/analytics")
@require_auth(*COHORT_ROLES)
def exam_analytics(external_id: str):
    """Grade distribution and pass rate of one exam's marks; the graded learners' other figures from the state
    the worker stores per exam (services.cohort_exams)."""
    exam = find_or_404(Exam, external_id)
    if current_user().role == "educator":
        section = db.session.get(Section, exam.section_id) if exam.section_id else None
        if section is None or section.educator_id != current_user().id:
            raise ApiError(404, f"no exam {external_id!r} of your sections")
    marks = sa.select(Grade.learner_id, Grade.marks).where(Grade.exam_id == exam.id).order_by(Grade.learner_id)
    # only the marks of learners the caller may see: a grade of a learner outside the exam's section
    # must not reach its educator through the aggregate
    rows = db.session.execute(only_visible(marks, Grade.learner_id, current_user())).all()
    percent = np.array([100.0 * marks / exam.max_marks for _, marks in rows])
    figures = stored_exam(exam.id, [learner for learner, _ in rows])  # in learner id order, as the marks
    return {"exam": exam.external_id, **summarize(figures, _pass_mark(), scores=percent)}


@bp.get("/sections/<external_id>/summary")
@require_auth(*COHORT_ROLES)
def section_summary(external_id: str):
    """The section's cohort figures as the worker last stored them (`as_of`; refreshed after evaluations,
    at most every COHORT_SUMMARY_INTERVAL): what dashboards read, instead of a computation per page view."""
    section = readable_section(current_user(), external_id)
    reject_unknown_args(())
    stored = section_summaries([(section.id, section.course_id)])[section.id]
    return {"section": section.external_id, **stored}


@bp.get("/sections/<external_id>/analytics/history")
@require_auth(*COHORT_ROLES)
def section_analytics_history(external_id: str):
    """The section's daily cohort aggregates, newest first (`limit` days, default 30)."""
    section = readable_section(current_user(), external_id)
    rows = db.session.scalars(
        sa.select(CohortSnapshot)
        .where(CohortSnapshot.section_id == section.id)
        .order_by(CohortSnapshot.taken_at.desc())
        .limit(int_arg("limit", 30, 1, 366))
    ).all()
    return {
        "section": section.external_id,
        "history": [{"taken_at": row.taken_at.isoformat(), **row.summary} for row in rows],
    }
