"""The event log names its learner, course, module, section, subject and exam by plain ids, kept by delete triggers
on those tables (migration 0021) instead of foreign keys: a deleted row does to the events exactly what the keys'
ON DELETE did, on both backends, whether deleted alone, many in one statement or by a cascade."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from models import Course, Event, Exam, Module, Section, Subject, User, db
from tests.conftest import create_user

REFERENCES = ("course_id", "module_id", "section_id", "subject_id", "exam_id")


def _event(learner: User, tag: str, **references: int) -> int:
    event = Event(learner_id=learner.id, kind="activity", occurred_at=datetime.now(UTC), body_hash=tag, **references)
    db.session.add(event)
    db.session.flush()
    return event.id


def _catalog(tag: str) -> dict[str, int]:
    """A course with one module, a section, a subject and an exam; the events' columns naming them."""
    course = Course(external_id=f"c-{tag}", title="C")
    subject, section, exam = (
        Subject(external_id=f"sub-{tag}", name="S"),
        Section(external_id=f"s-{tag}", name="S"),
        Exam(external_id=f"e-{tag}", title="E"),
    )
    db.session.add_all([course, subject, section, exam])
    db.session.flush()
    module = Module(external_id=f"m-{tag}", course_id=course.id, title="M")
    db.session.add(module)
    db.session.flush()
    return {
        "course_id": course.id,
        "module_id": module.id,
        "section_id": section.id,
        "subject_id": subject.id,
        "exam_id": exam.id,
    }


def _references(event_id: int) -> dict[str, int | None]:
    row = db.session.execute(sa.select(*(getattr(Event, name) for name in REFERENCES)).where(Event.id == event_id))
    return dict(zip(REFERENCES, row.one()))


def test_deleted_learners_take_their_events_and_nobody_elses(app):
    amy, bob, cy = (create_user(name, "learner") for name in ("amy", "bob", "cy"))
    kept = [_event(bob, "b1"), _event(bob, "b2")]
    for learner in (amy, cy):
        _event(learner, f"{learner.external_id}1")
        _event(learner, f"{learner.external_id}2")
    db.session.commit()
    db.session.execute(sa.delete(User).where(User.id.in_([amy.id, cy.id])))  # two in one statement
    db.session.commit()
    assert sorted(db.session.scalars(sa.select(Event.id))) == kept


def test_each_deleted_catalog_row_clears_only_its_own_reference(app):
    learner = create_user("amy", "learner")
    mine, other = _catalog("a"), _catalog("b")
    named, untouched = _event(learner, "a", **mine), _event(learner, "b", **other)
    db.session.commit()
    expected = dict(mine)
    for model, column in ((Exam, "exam_id"), (Section, "section_id"), (Subject, "subject_id"), (Module, "module_id")):
        db.session.execute(sa.delete(model).where(model.id == mine[column]))
        db.session.commit()
        expected[column] = None
        assert _references(named) == expected, column
    assert _references(untouched) == other
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 2  # the events are kept


def test_a_deleted_course_clears_the_course_and_its_cascaded_modules(app):
    learner = create_user("amy", "learner")
    catalog = _catalog("a")
    named = _event(learner, "a", **catalog)
    db.session.commit()
    db.session.execute(sa.delete(Course).where(Course.id == catalog["course_id"]))  # its modules go by their key
    db.session.commit()
    assert db.session.get(Module, catalog["module_id"]) is None
    assert _references(named) == {**catalog, "course_id": None, "module_id": None}
