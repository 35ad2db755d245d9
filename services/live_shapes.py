"""The product brief's live message shapes, added beside our own fields.

    grade_update       event "grade_updated", grade_data {student_name, subject_name, score, total_marks},
                       performance_data {subject_average, grades_counted, standing {rank, of, percentile}}
    attendance_update  event "attendance_marked", attendance_data {student_name, date, status,
                       attendance_percentage}
    exam_created       event "exam_created", exam_data {exam_name, subject_name, exam_date, total_marks,
                       section_name}

A learner's subject average is the mean percent of their grades in the exams of the graded exam's
subject (else its course, else that exam alone); their standing ranks that average among the learners
of the exam's section (or everyone graded in that subject when the exam has no section).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sqlalchemy as sa

from analytics.school import ATTENDANCE_CODES, attendance_percent, standing
from models import Attendance, Course, Enrollment, Exam, Grade, Section, Subject, User, db
from models.queries import mapping
from services.json_values import json_scalar


def student_names(learner_ids: set[int]) -> dict[int, str]:
    """Display names, falling back to the external id for learners the platform sent no name for."""
    rows = db.session.execute(sa.select(User.id, User.name, User.external_id).where(User.id.in_(sorted(learner_ids))))
    return {pk: name or external_id for pk, name, external_id in rows}


def _subject_label(exam: Exam) -> str | None:
    if exam.subject_id is not None:
        return db.session.scalar(sa.select(Subject.name).where(Subject.id == exam.subject_id))
    if exam.course_id is not None:
        return db.session.scalar(sa.select(Course.title).where(Course.id == exam.course_id))
    return None


def _performance(exam: Exam, learner_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each learner's updated average over the exam's subject and their standing in its cohort."""
    scope = (
        Exam.subject_id == exam.subject_id
        if exam.subject_id is not None
        else Exam.course_id == exam.course_id
        if exam.course_id is not None
        else Exam.id == exam.id
    )
    query = sa.select(Grade.learner_id, Grade.marks, Exam.max_marks).join(Exam, Exam.id == Grade.exam_id).where(scope)
    if exam.section_id is not None:
        members = sa.select(Enrollment.learner_id).where(Enrollment.section_id == exam.section_id)
        query = query.where(Grade.learner_id.in_(members.scalar_subquery()))
    rows = db.session.execute(query).all()
    if not rows:
        return {}
    learner = np.array([row[0] for row in rows])
    percent = np.array([100.0 * row[1] / row[2] if row[2] else np.nan for row in rows])
    cohort, index = np.unique(learner, return_inverse=True)
    counted = np.bincount(index, weights=~np.isnan(percent), minlength=len(cohort))
    with np.errstate(invalid="ignore", divide="ignore"):
        average = np.bincount(index, weights=np.nan_to_num(percent), minlength=len(cohort)) / counted
    rank, size, percentile = standing(average)
    at = {int(pk): i for i, pk in enumerate(cohort)}
    return {
        pk: {
            "subject_average": json_scalar(float(average[at[pk]]), 1),
            "grades_counted": int(counted[at[pk]]),
            "standing": {
                "rank": int(rank[at[pk]]),
                "of": int(size[at[pk]]),
                "percentile": json_scalar(float(percentile[at[pk]]), 1),
            },
        }
        for pk in learner_ids
        if pk in at
    }


def grade_fields(grades: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The brief's fields of each (learner row id, public grade event), in order."""
    names = student_names({learner for learner, _ in grades})
    out: list[dict[str, Any]] = []
    by_exam: dict[str, tuple[Exam | None, str | None, dict[int, dict[str, Any]]]] = {}
    for learner, event in grades:
        if event["exam"] not in by_exam:
            exam = db.session.scalar(sa.select(Exam).where(Exam.external_id == event["exam"]))
            graded = [pk for pk, e in grades if e["exam"] == event["exam"]]
            by_exam[event["exam"]] = (
                exam,
                _subject_label(exam) if exam else None,
                _performance(exam, graded) if exam else {},
            )
        exam, subject, performance = by_exam[event["exam"]]
        out.append(
            {
                "event": "grade_updated",
                "grade_data": {
                    "student_name": names.get(learner),
                    "subject_name": subject,
                    "score": event.get("marks"),
                    "total_marks": exam.max_marks if exam else None,
                },
                "performance_data": performance.get(learner, {}),
            }
        )
    return out


def attendance_fields(records: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The brief's fields of each (learner row id, public attendance event): the learner's attendance
    percentage in that section after this record."""
    names = student_names({learner for learner, _ in records})
    sections = mapping(
        sa.select(Section.external_id, Section.id).where(Section.external_id.in_({e["section"] for _, e in records}))
    )
    pairs = sorted({(learner, sections.get(event["section"])) for learner, event in records})
    rows = (
        db.session.execute(
            sa.select(Attendance.learner_id, Attendance.section_id, Attendance.status).where(
                sa.tuple_(Attendance.learner_id, Attendance.section_id).in_(pairs)
            )
        ).all()
        if pairs
        else []
    )
    at = {pair: i for i, pair in enumerate(pairs)}
    percent = attendance_percent(
        np.array([at[(row[0], row[1])] for row in rows], dtype=np.int64),
        np.array([ATTENDANCE_CODES[row[2]] for row in rows], dtype=np.int64),
        len(pairs),
    )
    return [
        {
            "event": "attendance_marked",
            "attendance_data": {
                "student_name": names.get(learner),
                "date": event.get("date"),
                "status": event.get("status"),
                "attendance_percentage": json_scalar(float(percent[at[(learner, sections.get(event["section"]))]]), 1),
            },
        }
        for learner, event in records
    ]


def exam_fields(exam: Exam, section: Section | None) -> dict[str, Any]:
    """The brief's fields of a new exam."""
    return {
        "event": "exam_created",
        "exam_data": {
            "exam_name": exam.title,
            "subject_name": _subject_label(exam),
            "exam_date": exam.held_on.isoformat() if exam.held_on else None,
            "total_marks": exam.max_marks,
            "section_name": section.name if section is not None else None,
        },
    }
