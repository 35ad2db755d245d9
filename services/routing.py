"""Which channels a live message about a learner's event belongs to.

A learner's own channel always; a section's channel only when the event is that section's business:
the section it names (attendance, an event sent with its section), the section of the exam a grade is
for (or, for an exam with no section, the learner's sections of the exam's course or subject), the
learner's sections of the course or subject an event names (or of its module's course), and all of
the learner's sections for an event that names none. So a math grade never shows on the science
section's channel.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis
import sqlalchemy as sa

from models import Course, Enrollment, Exam, Module, Section, Subject, db
from models.upsert import chunks_in
from services.channels import learner_channel, section_channel, sections_watched


@dataclass(frozen=True)
class SectionRef:
    """A section by its external id, with the course and subject it teaches (external ids, or None)."""

    section: str
    course: str | None
    subject: str | None

    def teaches(self, course: str | None, subject: str | None) -> bool:
        return (course is not None and self.course == course) or (subject is not None and self.subject == subject)


def _refs(statement: sa.Select[Any]) -> Any:
    return (
        statement.join(Section, Section.id == Enrollment.section_id)
        .outerjoin(Course, Course.id == Section.course_id)
        .outerjoin(Subject, Subject.id == Section.subject_id)
    )


def learner_sections(learner_ids: Iterable[int]) -> dict[int, list[SectionRef]]:
    """Each learner's sections (by learner row id)."""
    out: dict[int, list[SectionRef]] = defaultdict(list)
    for condition in chunks_in(Enrollment.learner_id, learner_ids):
        rows = db.session.execute(
            _refs(sa.select(Enrollment.learner_id, Section.external_id, Course.external_id, Subject.external_id))
            .where(condition)
            .order_by(Enrollment.learner_id, Section.external_id)
        )
        for learner, section, course, subject in rows:
            out[learner].append(SectionRef(section, course, subject))
    return out


def exam_refs(external_ids: Iterable[str]) -> dict[str, SectionRef | None]:
    """Each exam's section, course and subject (the section None when it has none)."""
    names = sorted(set(external_ids))
    if not names:
        return {}
    rows = db.session.execute(
        sa.select(Exam.external_id, Section.external_id, Course.external_id, Subject.external_id)
        .outerjoin(Section, Section.id == Exam.section_id)
        .outerjoin(Course, Course.id == Exam.course_id)
        .outerjoin(Subject, Subject.id == Exam.subject_id)
        .where(Exam.external_id.in_(names))
    )
    return {exam: SectionRef(section or "", course, subject) for exam, section, course, subject in rows}


def module_courses(external_ids: Iterable[str]) -> dict[str, str]:
    """Each module's course (external ids): an event that names only its module is that course's."""
    names = sorted(set(external_ids))
    if not names:
        return {}
    rows = db.session.execute(
        sa.select(Module.external_id, Course.external_id)
        .join(Course, Course.id == Module.course_id)
        .where(Module.external_id.in_(names))
    )
    return {module: course for module, course in rows}


def event_sections(event: dict[str, Any], mine: list[SectionRef], exams: dict[str, SectionRef | None]) -> list[str]:
    """The sections whose channels carry this event (a public event view: external ids; a module's
    course filled in as `course`)."""
    if event.get("section"):
        return [event["section"]]
    exam = exams.get(event["exam"]) if event.get("exam") else None
    if exam is not None:
        if exam.section:
            return [exam.section]
        return [ref.section for ref in mine if ref.teaches(exam.course, exam.subject)]
    if event.get("course") or event.get("subject"):
        return [ref.section for ref in mine if ref.teaches(event.get("course"), event.get("subject"))]
    return [ref.section for ref in mine]


def event_channels(
    client: redis.Redis, events: list[tuple[int, dict[str, Any]]], with_sections: bool | None = None
) -> list[list[str]]:
    """The channels of each (learner row id, public event): the learner's own, and the sections' whose
    business it is (looked up only while some section channel is watched; `with_sections`: whether one
    is, when the caller already asked Redis)."""
    if with_sections is None:
        try:
            with_sections = sections_watched(client)
        except redis.RedisError:
            with_sections = False  # publishing will fail too, and say so
    if not with_sections:
        return [[learner_channel(event["learner"])] for _, event in events]
    sections = learner_sections({learner for learner, _ in events})
    exams = exam_refs(event["exam"] for _, event in events if event.get("exam"))
    courses = module_courses(e["module"] for _, e in events if e.get("module") and not e.get("course"))
    out = []
    for learner, event in events:
        if event.get("module") in courses and not event.get("course"):
            event = {**event, "course": courses[event["module"]]}
        names = event_sections(event, sections.get(learner, []), exams)
        out.append([learner_channel(event["learner"]), *(section_channel(name) for name in names)])
    return out
