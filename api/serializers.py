"""JSON shapes of our entities: external ids outward, never internal row ids of other tables."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from models import (
    EVENT_VALUE_FIELDS,
    Course,
    Enrollment,
    Event,
    Exam,
    LearnerCounters,
    Module,
    Section,
    Subject,
    User,
    db,
)


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _external(model: Any, pk: int | None) -> str | None:
    if pk is None:
        return None
    row = db.session.get(model, pk)
    return row.external_id if row is not None else None


def user_json(user: User) -> dict[str, Any]:
    return {
        "external_id": user.external_id,
        "role": user.role,
        "name": user.name,
        "email": user.email,
        "active": user.active,
        "created_at": _iso(user.created_at),
    }


def course_json(course: Course) -> dict[str, Any]:
    return {
        "external_id": course.external_id,
        "title": course.title,
        "description": course.description,
        "time_zone": course.time_zone,  # null: the server's ALERT_TIME_ZONE
    }


def module_json(module: Module) -> dict[str, Any]:
    return {
        "external_id": module.external_id,
        "course": _external(Course, module.course_id),
        "title": module.title,
        "position": module.position,
    }


def subject_json(subject: Subject) -> dict[str, Any]:
    return {"external_id": subject.external_id, "name": subject.name}


def section_json(section: Section) -> dict[str, Any]:
    return {
        "external_id": section.external_id,
        "name": section.name,
        "course": _external(Course, section.course_id),
        "subject": _external(Subject, section.subject_id),
        "educator": _external(User, section.educator_id),
        "time_zone": section.time_zone,  # null: the course's, else the server's ALERT_TIME_ZONE
    }


def exam_json(exam: Exam) -> dict[str, Any]:
    return {
        "external_id": exam.external_id,
        "title": exam.title,
        "max_marks": exam.max_marks,
        "held_on": _iso(exam.held_on),
        "course": _external(Course, exam.course_id),
        "subject": _external(Subject, exam.subject_id),
        "section": _external(Section, exam.section_id),
    }


def enrollment_json(enrollment: Enrollment) -> dict[str, Any]:
    return {
        "learner": _external(User, enrollment.learner_id),
        "section": _external(Section, enrollment.section_id),
        "status": enrollment.status,
        "enrolled_at": _iso(enrollment.enrolled_at),
    }


# What an event refers to, shown by external id; joined into the page query so a page is one statement.
EVENT_REFERENCES = (
    ("course", Course, Event.course_id),
    ("module", Module, Event.module_id),
    ("section", Section, Event.section_id),
    ("subject", Subject, Event.subject_id),
    ("exam", Exam, Event.exam_id),
)


def events_query() -> sa.Select:
    """Event columns plus the external ids they refer to (outer joins on primary keys), for event_json."""
    query = sa.select(*Event.__table__.c)
    for name, model, column in EVENT_REFERENCES:
        query = query.outerjoin(model, model.id == column).add_columns(model.external_id.label(name))
    return query


def event_json(row: Any) -> dict[str, Any]:
    """An event as stored (a row of events_query()): server id, client id and the kind's fields."""
    body: dict[str, Any] = {
        "server_id": row.id,
        "id": row.client_id,
        "kind": row.kind,
        "occurred_at": _iso(row.occurred_at),
        "received_at": _iso(row.received_at),
    }
    optional = {
        **{name: getattr(row, name) for name in EVENT_VALUE_FIELDS},
        "date": _iso(row.date),
        **{name: getattr(row, name) for name, _, _ in EVENT_REFERENCES},
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    return body


EVENT_OPTIONAL_FIELDS = (*EVENT_VALUE_FIELDS, *(name for name, _, _ in EVENT_REFERENCES))  # event_json's order


def events_json(result: sa.Result) -> list[dict[str, Any]]:
    """Every row of an events_query() result as event_json gives it, each column read by its position (a page
    of 100 events: a hundred times twelve attribute look-ups by name, the page's largest CPU cost)."""
    keys = list(result.keys())
    server_id, client_id, kind, occurred, received = (
        keys.index(name) for name in ("id", "client_id", "kind", "occurred_at", "received_at")
    )
    optional = [(name, keys.index(name)) for name in EVENT_OPTIONAL_FIELDS]
    out = []
    for row in result.tuples():
        body: dict[str, Any] = {
            "server_id": row[server_id],
            "id": row[client_id],
            "kind": row[kind],
            "occurred_at": _iso(row[occurred]),
            "received_at": _iso(row[received]),
        }
        for name, index in optional:
            if (value := row[index]) is not None:
                body[name] = value.isoformat() if name == "date" else value
        out.append(body)
    return out


def counters_json(counters: LearnerCounters | None) -> dict[str, Any]:
    """Running counters; zeros before the first evaluation."""
    if counters is None:
        return {
            "events_seen": 0,
            "activity_count": 0,
            "modules_completed": 0,
            "assessment_count": 0,
            "average_score_percent": None,
            "grade_count": 0,
            "attendance_percent": None,
            "time_spent_seconds": 0.0,
            "last_activity_at": None,
            "last_progress_at": None,
            "last_evaluated_at": None,
        }
    average = 100 * counters.score_ratio_sum / counters.assessment_count if counters.assessment_count else None
    attendance = 100 * counters.attendance_present / counters.attendance_count if counters.attendance_count else None
    return {
        "events_seen": counters.events_seen,
        "activity_count": counters.activity_count,
        "modules_completed": counters.modules_completed,
        "assessment_count": counters.assessment_count,
        "average_score_percent": average,
        "grade_count": counters.grade_count,
        "attendance_percent": attendance,
        "time_spent_seconds": counters.time_spent_seconds,
        "last_activity_at": _iso(counters.last_activity_at),
        "last_progress_at": _iso(counters.last_progress_at),
        "last_evaluated_at": _iso(counters.last_evaluated_at),
    }
