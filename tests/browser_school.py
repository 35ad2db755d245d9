"""A small, realistic school for the browser tests: one educator with two sections of one subject,
another educator's section, learners with distinct habits (steady, strong, slipping), 28 days of events."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from models import Course, Enrollment, Exam, Module, Section, Subject, User, db

EDUCATOR, OTHER_EDUCATOR, ADMIN, SERVICE = "ms-rivera", "mr-okafor", "ops-admin", "lms"
SECTIONS = {"alg-1": ("Algebra 1 · Period 2", "algebra"), "geo-1": ("Geometry · Period 4", "geometry")}
LEARNERS = {
    "alg-1": [
        "Amira Haddad",
        "Ben Carter",
        "Chloe Nguyen",
        "Diego Ramos",
        "Ella Fischer",
        "Finn O'Brien",
        "Grace Kim",
        "Hugo Silva",
    ],
    "geo-1": ["Isla Moreau", "Jonah Weiss", "Kavya Iyer", "Leo Rossi", "Maya Cohen", "Noah Dubois"],
}
OUTSIDER = "Zoe Lindqvist"  # in mr-okafor's section: ms-rivera must not see her
SLIPPING = {"Diego Ramos", "Leo Rossi"}
STRONG = {"Amira Haddad", "Kavya Iyer", "Grace Kim"}
MODULES = 8
DAYS = 28


def learner_id(name: str) -> str:
    return name.lower().replace(" ", "-").replace("'", "")


def build_catalog() -> None:
    """Users, courses with modules, a subject, sections, enrollments and one exam, straight into the database."""
    people = {
        EDUCATOR: ("educator", "Ms Rivera"),
        OTHER_EDUCATOR: ("educator", "Mr Okafor"),
        ADMIN: ("admin", "Operations"),
        SERVICE: ("service", "LMS"),
    }
    users = {ext: User(external_id=ext, role=role, name=name) for ext, (role, name) in people.items()}
    for names in [*LEARNERS.values(), [OUTSIDER]]:
        for name in names:
            users[learner_id(name)] = User(external_id=learner_id(name), role="learner", name=name)
    db.session.add_all(users.values())
    subject = Subject(external_id="math", name="Mathematics")
    db.session.add(subject)
    db.session.flush()
    for section_id, (title, course_id) in [*SECTIONS.items(), ("bio-1", ("Biology", "biology"))]:
        course = Course(external_id=course_id, title=title.split(" ·")[0])
        db.session.add(course)
        db.session.flush()
        db.session.add_all(
            Module(external_id=f"{course_id}-m{m}", course_id=course.id, title=f"Unit {m}", position=m)
            for m in range(1, MODULES + 1)
        )
        teacher = users[OTHER_EDUCATOR if section_id == "bio-1" else EDUCATOR]
        section = Section(
            external_id=section_id,
            name=title,
            course_id=course.id,
            subject_id=None if section_id == "bio-1" else subject.id,
            educator_id=teacher.id,
        )
        db.session.add(section)
        db.session.flush()
        for name in LEARNERS.get(section_id, [OUTSIDER]):
            db.session.add(Enrollment(section_id=section.id, learner_id=users[learner_id(name)].id))
        if section_id == "alg-1":
            db.session.add(
                Exam(
                    external_id="alg-midterm",
                    title="Algebra midterm",
                    max_marks=100,
                    course_id=course.id,
                    subject_id=subject.id,
                    section_id=section.id,
                )
            )
    db.session.commit()


def _day_events(
    name: str, section: str, course: str, day: date, index: int, rng: random.Random, state: dict
) -> list[dict[str, Any]]:
    learner, slipping = learner_id(name), name in SLIPPING and index >= DAYS - 10
    events: list[dict[str, Any]] = []
    if day.weekday() < 5:
        present = rng.random() < (0.5 if slipping else 0.95)
        status = "present" if present else rng.choice(("absent", "late"))
        events.append(
            {
                "id": f"{learner}-att-{day}",
                "learner": learner,
                "kind": "attendance",
                "section": section,
                "date": day.isoformat(),
                "status": status,
            }
        )
    module = f"{course}-m{min(state['done'] + 1, MODULES)}"
    for a in range(0 if slipping and rng.random() < 0.7 else rng.randint(1, 3)):
        at = datetime.combine(day, time(rng.randint(8, 20), rng.randint(0, 59)), UTC)
        events.append(
            {
                "id": f"{learner}-act-{index}-{a}",
                "learner": learner,
                "kind": "activity",
                "module": module,
                "occurred_at": at.isoformat(),
                "duration_seconds": rng.randint(300, 2400),
            }
        )
    if not slipping and state["done"] < MODULES and rng.random() < 0.22:
        state["done"] += 1
        events.append(
            {
                "id": f"{learner}-mod-{state['done']}",
                "learner": learner,
                "kind": "module_completed",
                "module": module,
                "occurred_at": datetime.combine(day, time(19), UTC).isoformat(),
            }
        )
    if index % 3 == len(name) % 3:
        drop = 6 * (index - (DAYS - 10)) if slipping else 0
        score = max(5.0, min(100.0, rng.gauss(state["ability"] - drop, 4)))
        events.append(
            {
                "id": f"{learner}-quiz-{index}",
                "learner": learner,
                "kind": "assessment",
                "module": module,
                "skill": f"{course}-unit-{min(state['done'] + 1, MODULES)}",
                "score": round(score, 1),
                "max_score": 100,
                "occurred_at": datetime.combine(day, time(15), UTC).isoformat(),
            }
        )
    if section == "alg-1" and index == DAYS // 2:
        events.append(
            {
                "id": f"{learner}-midterm",
                "learner": learner,
                "kind": "grade",
                "exam": "alg-midterm",
                "section": section,
                "marks": round(min(100.0, rng.gauss(state["ability"], 6)), 1),
                "occurred_at": datetime.combine(day, time(12), UTC).isoformat(),
            }
        )
    return events


def school_events(now: datetime) -> list[dict[str, Any]]:
    """Four weeks of events for every learner, ending yesterday."""
    rng = random.Random(11)
    events: list[dict[str, Any]] = []
    start = (now - timedelta(days=DAYS)).date()
    for section, names in [*LEARNERS.items(), ("bio-1", [OUTSIDER])]:
        course = {"alg-1": "algebra", "geo-1": "geometry"}.get(section, "biology")
        for name in names:
            ability = 91.0 if name in STRONG else (78.0 if name in SLIPPING else rng.uniform(62, 84))
            state = {"done": 0, "ability": ability}
            for index in range(DAYS):
                events += _day_events(name, section, course, start + timedelta(days=index), index, rng, state)
    return events
