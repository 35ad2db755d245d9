"""The demo school's catalog and people: courses with modules, sections, exams, named teachers and learners."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from api.demo.names import ADMIN, COURSES, EDUCATORS, learner_names, section_name
from models import Course, Enrollment, Exam, Module, Section, Subject, User, db

GROUPS = 4  # sections per course; learner n sits in group n % GROUPS of every course
EXAMS = (("unit2", "Unit 2 Test", 0.25), ("midterm", "Midterm", 0.5), ("unit6", "Unit 6 Test", 0.8))
ADMIN_ID = "demo-admin"
DEMO_COURSE = "demo-math-101"  # its description records the options the demo was seeded with


@dataclass
class Catalog:
    """Rows of the demo school, by course key ("math", "science")."""

    educators: list[Any]
    sections: dict[str, list[Any]] = field(default_factory=dict)
    modules: dict[str, list[Any]] = field(default_factory=dict)
    exams: dict[str, list[tuple[Any, int]]] = field(default_factory=dict)  # (exam, day index it is held)


def learner_external_id(n: int) -> str:
    """Stable external id of demo learner n (the README and API examples use these)."""
    return f"demo-learner-{n:03d}"


def _upsert(model: Any, external_id: str, **values: Any) -> Any:
    """Create the row, or bring an existing one up to date (re-seeding renames an older demo)."""
    row = db.session.scalar(sa.select(model).where(model.external_id == external_id))
    if row is None:
        row = model(external_id=external_id)
        db.session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    db.session.flush()
    return row


def build_catalog(start: date, days: int, marker: str) -> Catalog:
    """Two courses of ten modules, four teachers, eight sections and three exams per course."""
    educators = [
        _upsert(User, f"demo-educator-{n}", role="educator", name=name) for n, name in enumerate(EDUCATORS, start=1)
    ]
    _upsert(User, ADMIN_ID, role="admin", name=ADMIN)
    catalog = Catalog(educators)
    for key, (title, subject_name, module_titles) in COURSES.items():
        course = _upsert(Course, f"demo-{key}-101", title=title, description=marker)
        subject = _upsert(Subject, f"demo-{key}", name=subject_name)
        catalog.modules[key] = [
            _upsert(Module, f"demo-{key}-m{m:02d}", course_id=course.id, title=name, position=m)
            for m, name in enumerate(module_titles, start=1)
        ]
        catalog.sections[key] = [
            _upsert(
                Section,
                f"demo-{key}-{'ABCD'[g]}",
                name=section_name(key, g),
                course_id=course.id,
                subject_id=subject.id,
                educator_id=educators[g].id,
            )
            for g in range(GROUPS)
        ]
        catalog.exams[key] = []
        for suffix, exam_title, fraction in EXAMS:
            day = int(days * fraction)
            exam = _upsert(
                Exam,
                f"demo-{key}-{suffix}",
                title=f"{title} — {exam_title}",
                max_marks=100,
                held_on=start + timedelta(days=day),
                course_id=course.id,
                subject_id=subject.id,
            )
            catalog.exams[key].append((exam, day))
    db.session.commit()
    return catalog


def ensure_learners(count: int, seed: int) -> dict[int, int]:
    """Create (or rename) learners 1..count with realistic names; returns number -> user id."""
    names = learner_names(count, seed)
    wanted = {learner_external_id(n): names[n - 1] for n in range(1, count + 1)}
    demo_learners = sa.select(User.external_id, User.id).where(User.external_id.like("demo-learner-%"))
    existing = {ext: pk for ext, pk in db.session.execute(demo_learners) if ext in wanted}
    missing = [{"external_id": ext, "role": "learner", "name": name, "active": True} for ext, name in wanted.items()]
    missing = [row for row in missing if row["external_id"] not in existing]
    if missing:
        db.session.execute(sa.insert(User), missing)
    renamed = [{"id": pk, "name": wanted[ext]} for ext, pk in existing.items()]
    if renamed:
        db.session.execute(sa.update(User), renamed)
    db.session.commit()
    return {int(ext.rsplit("-", 1)[1]): pk for ext, pk in db.session.execute(demo_learners) if ext in wanted}


def enroll(learners: dict[int, int], catalog: Catalog) -> None:
    """Enroll learner n in group n % 4 of each course (where their attendance is kept)."""
    existing = set(db.session.execute(sa.select(Enrollment.learner_id, Enrollment.section_id)).all())
    rows = [
        {"learner_id": learner_id, "section_id": sections[n % GROUPS].id, "status": "active"}
        for n, learner_id in learners.items()
        for sections in catalog.sections.values()
        if (learner_id, sections[n % GROUPS].id) not in existing
    ]
    if rows:
        db.session.execute(sa.insert(Enrollment), rows)
    db.session.commit()
