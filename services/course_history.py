"""Per course a learner has events in: modules completed, the first event in it and the completion times, from
the learner's events or from their digest's report figures (the same numbers), for the completion forecasts."""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import aliased

from analytics.learner_metrics import KIND_CODES
from models import Course, Module, db
from services.learner_loading import LoadedLearner

_SIBLINGS = aliased(Module)
# built once: constructing it (an aliased entity, a correlated count) cost more than running it, per report
MODULE_COURSES = (
    sa.select(
        Module.id,
        Module.course_id,
        Course.external_id,
        sa.select(sa.func.count()).where(_SIBLINGS.course_id == Module.course_id).scalar_subquery(),
    )
    .join(Course, Course.id == Module.course_id)
    .where(Module.id.in_(sa.bindparam("modules", expanding=True)))
    .order_by(Module.id)
)


def _module_courses(touched: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[int, int], dict[int, str]]:
    """For these module ids (ascending): the ids found and their course ids, and per course its module total
    and external id, in one statement."""
    rows = db.session.execute(MODULE_COURSES, {"modules": touched.tolist()}).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    course_of = np.array([r[1] for r in rows], dtype=np.int64)
    return ids, course_of, {r[1]: r[3] for r in rows}, {r[1]: r[2] for r in rows}


def _course_of(module: np.ndarray, ids: np.ndarray, course_of: np.ndarray) -> np.ndarray:
    """Each module's course id (-1 without a module, or for a module not found)."""
    out = np.full(len(module), -1, dtype=np.int64)
    if not len(ids):
        return out
    where = np.minimum(np.searchsorted(ids, module), len(ids) - 1)
    found = (module >= 0) & (ids[where] == module)
    out[found] = course_of[where[found]]
    return out


# per course: modules completed, the time of the first event in it, the completion times (ascending)
CourseHistory = dict[int, tuple[int, float, np.ndarray]]


def course_history(loaded: LoadedLearner) -> tuple[CourseHistory, dict[int, int], dict[int, str]]:
    """Per course the learner has events in: its history (from the events, or from a digest's report
    figures: the same numbers), and per course its module total and external id."""
    whole = loaded.whole
    module = loaded.module if whole is None else whole.module
    touched = np.unique(module[module >= 0])
    if not len(touched):
        return {}, {}, {}
    ids, course_of, totals, names = _module_courses(touched)
    out: CourseHistory = {}
    if whole is None:
        events, done = loaded.events, loaded.events.kind == KIND_CODES["module_completed"]
        event_course = _course_of(module, ids, course_of)
        for course in sorted(totals):  # a learner works in a handful of courses; each row is vectorized work
            in_course = event_course == course
            completed = int(np.unique(module[in_course & done]).size)
            out[course] = (completed, events.time[in_course].min(), np.sort(events.time[in_course & done]))
        return out, totals, names
    module_course, done_course = _course_of(whole.module, ids, course_of), _course_of(whole.done_module, ids, course_of)
    for course in sorted(totals):
        done = done_course == course
        completed = int(np.unique(whole.done_module[done]).size)
        out[course] = (completed, whole.first[module_course == course].min(), np.sort(whole.done_time[done]))
    return out, totals, names
