"""Small schools for tests, built straight into the database from a roster given as data.

`build_school(PEOPLE, two_sections())` is the usual one: amy and bea in S1 taught by ed, cal in S2
taught by eve, an admin (root) and the LMS service (lms). Tests that need other names, courses or
subjects pass their own roster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from models import Course, Enrollment, Section, Subject, User, db
from tests.conftest import create_user

# (external id, role[, display name])
PEOPLE: tuple[tuple[str, ...], ...] = (
    ("amy", "learner"),
    ("bea", "learner"),
    ("cal", "learner"),
    ("ed", "educator"),
    ("eve", "educator"),
    ("root", "admin"),
    ("lms", "service"),
)
NAMED_PEOPLE = tuple((external_id, role, external_id.title()) for external_id, role in PEOPLE)


@dataclass(frozen=True)
class SectionPlan:
    """One section: who teaches it, who is enrolled, and the course or subject it belongs to (created)."""

    external_id: str
    name: str
    educator: str
    learners: tuple[str, ...]
    course: tuple[str, str] | None = None  # (external id, title)
    subject: tuple[str, str] | None = None  # (external id, name)


def two_sections(first: str = "S1", second: str = "S2") -> tuple[SectionPlan, SectionPlan]:
    """amy and bea in S1 taught by ed; cal in S2 taught by eve; the sections named as given."""
    return SectionPlan("S1", first, "ed", ("amy", "bea")), SectionPlan("S2", second, "eve", ("cal",))


def build_school(
    people: Iterable[tuple[str, ...]], sections: Iterable[SectionPlan], emails: Mapping[str, str] | None = None
) -> dict[str, User]:
    """Create the people (with the given emails), the sections with their course or subject, and the
    enrollments; returns the users by external id."""
    users = {person[0]: create_user(*person) for person in people}
    for external_id, email in (emails or {}).items():
        users[external_id].email = email
    plans = list(sections)
    courses = _create(Course, "title", {plan.course for plan in plans if plan.course})
    subjects = _create(Subject, "name", {plan.subject for plan in plans if plan.subject})
    rows = [
        Section(
            external_id=plan.external_id,
            name=plan.name,
            educator_id=users[plan.educator].id,
            course_id=courses[plan.course[0]].id if plan.course else None,
            subject_id=subjects[plan.subject[0]].id if plan.subject else None,
        )
        for plan in plans
    ]
    db.session.add_all(rows)
    db.session.flush()
    db.session.add_all(
        Enrollment(section_id=row.id, learner_id=users[learner].id)
        for plan, row in zip(plans, rows, strict=True)
        for learner in plan.learners
    )
    db.session.commit()
    return users


def _create(model: type, label: str, entries: set[tuple[str, str]]) -> dict:
    """Rows of a catalogue model (courses, subjects) by external id, flushed so they have ids."""
    rows = {external_id: model(external_id=external_id, **{label: text}) for external_id, text in sorted(entries)}
    db.session.add_all(rows.values())
    db.session.flush()
    return rows
