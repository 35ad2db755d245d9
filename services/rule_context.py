"""What the alert rules need to know about a learner's school setting: their time zone, and modules left."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa
from flask import current_app

from analytics.completion import modules_left
from analytics.learner_metrics import EventArrays
from models import Course, Enrollment, Module, Section, db
from models.upsert import rows_of_ids


def _enrollments(ids: Sequence[int]) -> list[tuple[int, int, int | None, str | None, str | None]]:
    """(learner, section, course, section zone, course zone) of the learners' active enrollments, lowest section first."""
    query = (
        sa.select(Enrollment.learner_id, Section.id, Section.course_id, Section.time_zone, Course.time_zone)
        .join(Section, Section.id == Enrollment.section_id)
        .outerjoin(Course, Course.id == Section.course_id)
        .where(Enrollment.status == "active")
        .order_by(Enrollment.learner_id, Section.id)
    )
    rows = rows_of_ids(query, Enrollment.learner_id, ids)
    return [tuple(row) for row in rows]  # type: ignore[misc]


def learner_time_zones(ids: Sequence[int], enrollments: list | None = None) -> np.ndarray:
    """Per learner (sorted ids): the zone of their section, else its course, else ALERT_TIME_ZONE.

    A learner in several sections counts the days of the lowest section id that names a zone.
    """
    default = current_app.config["ALERT_TIME_ZONE"]
    zones = np.full(len(ids), default, dtype=object)
    index = {learner: i for i, learner in enumerate(ids)}
    chosen: set[int] = set()
    for learner, _, _, section_zone, course_zone in enrollments if enrollments is not None else _enrollments(ids):
        zone = section_zone or course_zone
        if zone and learner not in chosen:
            zones[index[learner]] = zone
            chosen.add(learner)
    return zones


def learner_modules_left(
    ids: Sequence[int], events: EventArrays, module_ids: np.ndarray, enrollments: list | None = None
) -> np.ndarray:
    """Per learner: modules still to complete in the courses they are enrolled in or worked in (NaN: none known)."""
    modules = db.session.execute(sa.select(Module.id, Module.course_id).order_by(Module.id)).all()
    if not modules:
        return np.full(len(ids), np.nan)
    module_id = np.array([m for m, _ in modules])
    course_ids = sorted({c for _, c in modules})
    module_course = np.searchsorted(course_ids, [c for _, c in modules])
    module_ids = np.asarray(module_ids, dtype=np.int64)
    position = np.searchsorted(module_id, module_ids).clip(0, len(module_id) - 1)
    module = np.where(module_id[position] == module_ids, position, -1)
    totals = np.bincount(module_course, minlength=len(course_ids))
    index = {learner: i for i, learner in enumerate(ids)}
    course_index = {course: i for i, course in enumerate(course_ids)}
    pairs = [
        (index[learner], course_index[course])
        for learner, _, course, _, _ in (enrollments if enrollments is not None else _enrollments(ids))
        if course in course_index
    ]
    enrolled = (np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.int64))
    return modules_left(events, module, module_course, totals, enrolled)


def rule_context(ids: Sequence[int], events: EventArrays, module_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(time zone per learner, modules left per learner) for build_rule_inputs, in two queries."""
    enrollments = _enrollments(ids)
    return learner_time_zones(ids, enrollments), learner_modules_left(ids, events, module_ids, enrollments)
