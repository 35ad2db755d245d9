"""The full matrix of role x endpoint, including every refusal (403 for a role, 404 for a hidden object)."""

from __future__ import annotations

import pytest

from models import Course, Enrollment, Exam, Grade, Section, Subject, db
from tests.conftest import bearer, create_user

ACTORS = ("amy", "bob", "ted", "una", "root", "lms")  # learner, learner, educator, educator, admin, service
EVENT = {"learner": "amy", "kind": "activity", "occurred_at": "2026-01-01T00:00:00Z"}

# (method, path, body): expected status per actor, in ACTORS order.
# amy is in ted's section s1; bob is in una's section s2.
MATRIX = [
    (("GET", "/api/v1/me", None), (200, 200, 200, 200, 200, 200)),
    (("GET", "/api/v1/users/amy", None), (200, 404, 200, 404, 200, 200)),
    (("GET", "/api/v1/users/bob", None), (404, 200, 404, 200, 200, 200)),
    (("GET", "/api/v1/users/ted", None), (404, 404, 200, 404, 200, 200)),
    (("GET", "/api/v1/learners/amy/events", None), (200, 404, 200, 404, 200, 200)),
    (("GET", "/api/v1/learners/amy/summary", None), (200, 404, 200, 404, 200, 200)),
    (("GET", "/api/v1/learners/bob/summary", None), (404, 200, 404, 200, 200, 200)),
    (("GET", "/api/v1/learners/ghost/summary", None), (404, 404, 404, 404, 404, 404)),
    (("GET", "/api/v1/achievements?learner=amy", None), (200, 404, 200, 404, 200, 200)),
    (("GET", "/api/v1/achievements?learner=bob", None), (404, 200, 404, 200, 200, 200)),
    (("GET", "/api/v1/achievements", None), (200, 200, 200, 200, 200, 200)),
    (("GET", "/api/v1/sections/s1", None), (200, 404, 200, 404, 200, 200)),
    (("GET", "/api/v1/sections/s1/learners", None), (403, 403, 200, 404, 200, 200)),
    (("GET", "/api/v1/courses/c1", None), (200, 200, 200, 200, 200, 200)),
    (("GET", "/api/v1/exams/e1", None), (200, 200, 200, 200, 200, 200)),
    (("POST", "/api/v1/events", EVENT), (403, 403, 403, 403, 201, 201)),
    (("PUT", "/api/v1/courses/c9", {"title": "New"}), (403, 403, 403, 403, 201, 201)),
    (("PUT", "/api/v1/users/newbie", {"role": "learner"}), (403, 403, 403, 403, 201, 201)),
    (("PUT", "/api/v1/users/boss2", {"role": "admin"}), (403, 403, 403, 403, 201, 403)),
    (("PUT", "/api/v1/users/root", {"name": "Mallory"}), (403, 403, 403, 403, 200, 403)),
    (("PUT", "/api/v1/sections/s1/enrollments/bob", {}), (403, 403, 403, 403, 201, 201)),
    (
        (
            "POST",
            "/api/v1/attendance",
            {"section": "s1", "date": "2026-01-05", "records": [{"learner": "amy", "status": "present"}]},
        ),
        (403, 403, 201, 404, 201, 201),
    ),
    (("POST", "/api/v1/exams/e1/grades", {"grades": [{"learner": "amy", "marks": 7}]}), (403, 403, 201, 403, 201, 201)),
    (("POST", "/api/v1/auth/token", {"user": "amy"}), (403, 403, 403, 403, 201, 201)),
    (("GET", "/api/v1/learners/amy/analytics", None), (200, 404, 200, 404, 200, 200)),
    (("GET", "/api/v1/sections/s1/analytics", None), (403, 403, 200, 404, 200, 200)),
    (("GET", "/api/v1/courses/c1/analytics", None), (403, 403, 200, 200, 200, 200)),
    (("GET", "/api/v1/subjects/sub1/analytics", None), (403, 403, 200, 200, 200, 200)),
    (("GET", "/api/v1/exams/e1/analytics", None), (403, 403, 200, 404, 200, 200)),
]

# Cohort views count only the learners the caller may see: (path, field, value per actor that may read it).
COHORT_COUNTS = [
    ("/api/v1/sections/s1/analytics", "learners", {"ted": 1, "root": 1, "lms": 1}),
    ("/api/v1/courses/c1/analytics", "learners", {"ted": 1, "una": 1, "root": 2, "lms": 2}),
    ("/api/v1/subjects/sub1/analytics", "learners", {"ted": 1, "una": 1, "root": 2, "lms": 2}),
    ("/api/v1/exams/e1/analytics", "scored", {"ted": 1, "root": 2, "lms": 2}),
]


@pytest.fixture
def school(app):
    people = {
        name: create_user(name, role)
        for name, role in zip(ACTORS, ("learner", "learner", "educator", "educator", "admin", "service"))
    }
    course, subject = Course(external_id="c1", title="C1"), Subject(external_id="sub1", name="Maths")
    db.session.add_all([course, subject])
    db.session.flush()
    shared = {"course_id": course.id, "subject_id": subject.id}
    s1 = Section(external_id="s1", name="S1", educator_id=people["ted"].id, **shared)
    s2 = Section(external_id="s2", name="S2", educator_id=people["una"].id, **shared)
    db.session.add_all([s1, s2])
    db.session.flush()
    db.session.add_all(
        [
            Enrollment(learner_id=people["amy"].id, section_id=s1.id),
            Enrollment(learner_id=people["bob"].id, section_id=s2.id),
            Exam(external_id="e1", title="Quiz", max_marks=10, section_id=s1.id),
        ]
    )
    db.session.flush()
    exam = db.session.scalars(db.select(Exam)).one()
    # bob is graded on s1's exam although he is in s2: una must not see the exam, ted must not see bob.
    db.session.add_all([Grade(exam_id=exam.id, learner_id=people[n].id, marks=m) for n, m in (("amy", 8), ("bob", 3))])
    db.session.commit()
    return {name: bearer(user) for name, user in people.items()}


@pytest.mark.parametrize("request_, expected", MATRIX, ids=[f"{m} {p}" for (m, p, _), _ in MATRIX])
@pytest.mark.parametrize("actor_index", range(len(ACTORS)), ids=ACTORS)
def test_role_endpoint_matrix(client, school, request_, expected, actor_index):
    method, path, body = request_
    actor = ACTORS[actor_index]
    response = client.open(path, method=method, json=body, headers=school[actor])
    assert response.status_code == expected[actor_index], (actor, response.json)
    if response.status_code >= 400:
        assert set(response.json["error"]) == {"status", "code", "message", "details"}


def test_learner_lists_only_themselves(client, school):
    listed = client.get("/api/v1/learners", headers=school["amy"]).json["learners"]
    assert [learner["external_id"] for learner in listed] == ["amy"]


def test_educator_lists_only_their_learners_and_sections(client, school):
    assert [l["external_id"] for l in client.get("/api/v1/learners", headers=school["ted"]).json["learners"]] == ["amy"]
    assert [s["external_id"] for s in client.get("/api/v1/sections", headers=school["ted"]).json["sections"]] == ["s1"]
    assert [s["external_id"] for s in client.get("/api/v1/sections", headers=school["bob"]).json["sections"]] == ["s2"]


def test_admin_lists_everyone(client, school):
    listed = client.get("/api/v1/learners", headers=school["root"]).json["learners"]
    assert {learner["external_id"] for learner in listed} == {"amy", "bob"}


def test_educator_cannot_record_for_learners_outside_their_section(client, school):
    response = client.post(
        "/api/v1/attendance",
        headers=school["ted"],
        json={"section": "s1", "date": "2026-01-05", "records": [{"learner": "bob", "status": "present"}]},
    )
    assert response.status_code == 422
    assert response.json["error"]["details"][0]["path"] == "records[0].learner"


@pytest.mark.parametrize(("path", "field", "expected"), COHORT_COUNTS, ids=[path for path, _, _ in COHORT_COUNTS])
def test_cohort_views_count_only_visible_learners(client, school, path, field, expected):
    seen = {actor: client.get(path, headers=school[actor]).json[field] for actor in expected}
    assert seen == expected
