"""Which channels an event's live message goes to (services.routing), on the real database and Redis."""

from __future__ import annotations

from models import Course, Enrollment, Exam, Module, Section, Subject, db
from services.channels import STREAM_KEY, watch
from services.routing import event_channels
from tests.conftest import create_user


def test_events_go_to_the_sections_whose_business_they_are(app):
    ann = create_user("ann", "learner")
    math, science = Subject(external_id="math", name="Mathematics"), Subject(external_id="sci", name="Science")
    algebra = Course(external_id="algebra", title="Algebra I")
    db.session.add_all([math, science, algebra])
    db.session.flush()
    m = Section(external_id="M", name="M", subject_id=math.id, course_id=algebra.id)
    s = Section(external_id="S", name="S", subject_id=science.id)
    db.session.add_all([m, s, Module(external_id="mod-1", course_id=algebra.id, title="Linear equations")])
    db.session.flush()
    db.session.add_all(
        [
            Enrollment(section_id=m.id, learner_id=ann.id),
            Enrollment(section_id=s.id, learner_id=ann.id),
            Exam(external_id="XM", title="Quiz", section_id=m.id, subject_id=math.id),
            Exam(external_id="XS", title="Lab test", subject_id=science.id),  # no section: the subject decides
        ]
    )
    db.session.commit()
    client = app.extensions["redis"]
    events = [
        {"learner": "ann", "kind": "grade", "exam": "XM"},
        {"learner": "ann", "kind": "grade", "exam": "XS"},
        {"learner": "ann", "kind": "attendance", "section": "S"},
        {"learner": "ann", "kind": "module_completed", "module": "mod-1"},
        {"learner": "ann", "kind": "assessment", "subject": "sci"},
        {"learner": "ann", "kind": "activity"},
    ]
    pairs = [(ann.id, event) for event in events]
    assert event_channels(client, pairs) == [["learner:ann"]] * 6, "no section channel watched: no lookups"
    watch(client, ["section:M"])
    assert event_channels(client, pairs) == [
        ["learner:ann", "section:M"],
        ["learner:ann", "section:S"],
        ["learner:ann", "section:S"],
        ["learner:ann", "section:M"],
        ["learner:ann", "section:S"],
        ["learner:ann", "section:M", "section:S"],
    ]
    client.delete(STREAM_KEY.format("section:M"))
