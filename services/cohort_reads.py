"""The rows a section's or a course's cohort report is computed from, read with the entity itself in one
statement built once per process: the entity's id (and, for a section, its educator: what authorizes the
read), then per section its course, the version of its stored figures and its enrolled learners as one
string. One statement instead of two (the entity, then its sections' enrolled rows narrowed to the caller's
learners), none built per request, and on PostgreSQL read in autocommit (no BEGIN and COMMIT round trips).

The enrolled learners need no narrowing to the learners the caller may see: the caller may read a section
only if they teach it or see everyone, and a course's sections are those they teach or, for those who see
everyone, all; every learner enrolled in a section the caller teaches is one they may see
(api.access.visible_learner_ids), so the narrowing of the general cohort read keeps every row here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from models import Course, Enrollment, Section, SectionSummary, db
from models.queries import read_without_transaction

_LEARNERS = (
    sa.select(sa.func.aggregate_strings(sa.cast(Enrollment.learner_id, sa.String), ","))
    .where(Enrollment.section_id == Section.id)
    .scalar_subquery()
    .label("learners")
)  # per section row: half the PostgreSQL CPU of joining every enrollment and grouping (0.3 vs 0.5 ms, a course)
_STORED = sa.and_(SectionSummary.section_id == Section.id, SectionSummary.members.is_not(None))

SECTION_ROWS = (
    sa.select(
        Section.id, Section.external_id, Section.educator_id, Section.course_id, SectionSummary.updated_at, _LEARNERS
    )
    .select_from(Section)
    .outerjoin(SectionSummary, _STORED)
    .where(Section.external_id == sa.bindparam("external_id"))
)  # one row, or none for no such section


def _course_rows(taught: bool) -> sa.Select:
    """A course's rows: one per section (all of them, or with `taught` those of the educator bound as
    `educator`), or one with no section; none for no such course."""
    of_course = Section.course_id == Course.id
    if taught:
        of_course = sa.and_(of_course, Section.educator_id == sa.bindparam("educator"))
    return (
        sa.select(Course.id, Course.external_id, Section.id, Section.course_id, SectionSummary.updated_at, _LEARNERS)
        .select_from(Course)
        .outerjoin(Section, of_course)
        .outerjoin(SectionSummary, _STORED)
        .where(Course.external_id == sa.bindparam("external_id"))
    )


COURSE_ROWS = _course_rows(taught=False)
TAUGHT_COURSE_ROWS = _course_rows(taught=True)


@dataclass
class CohortRows:
    """An entity's id and external id, its section's educator (sections only) and, per section with an
    enrolled learner, its enrolled learners, its course and its stored figures' version (None: never stored)."""

    id: int
    external_id: str
    educator_id: int | None = None
    members: dict[int, np.ndarray] = field(default_factory=dict)
    courses: dict[int, int | None] = field(default_factory=dict)
    versions: dict[int, datetime | None] = field(default_factory=dict)

    def add(self, section: int, course: int | None, version: datetime | None, learners: str | None) -> None:
        """One section's row; a section without enrolled learners has no part in the report."""
        if learners is not None:
            self.members[section] = np.fromstring(learners, dtype=np.int64, sep=",")  # ~5x np.array(split)
            self.courses[section] = course
            self.versions[section] = version


def _rows(statement: sa.Select, params: dict[str, Any]) -> Sequence[Any]:
    """The statement's rows, read in autocommit on PostgreSQL when it is the request's first statement (no BEGIN,
    no COMMIT: two round trips fewer); the session is then ended, so whatever follows (a refresh of a section's
    stale figures, which writes) runs in a transaction of its own, as before."""
    read_without_transaction()
    rows = db.session.connection().execute(statement, params).all()
    db.session.commit()
    return rows


def section_rows(external_id: str) -> CohortRows | None:
    """The section with this external id and its enrolled learners, or None."""
    rows = _rows(SECTION_ROWS, {"external_id": external_id})
    if not rows:
        return None
    section, external, educator, course, version, learners = rows[0]
    found = CohortRows(section, external, educator)
    found.add(section, course, version, learners)
    return found


def course_rows(external_id: str, educator: int | None) -> CohortRows | None:
    """The course with this external id and its sections' enrolled learners (with `educator`: only the sections
    they teach), or None."""
    params: dict[str, Any] = {"external_id": external_id}
    if educator is not None:
        params["educator"] = educator
    rows = _rows(COURSE_ROWS if educator is None else TAUGHT_COURSE_ROWS, params)
    if not rows:
        return None
    found = CohortRows(rows[0][0], rows[0][1])
    for _, _, section, course, version, learners in rows:
        if section is not None:
            found.add(section, course, version, learners)
    return found
