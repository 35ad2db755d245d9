"""PUT /<collection>/<external_id>: idempotent create/update by the platform's id."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import Course, Enrollment, Module, Section, User, db
from tests.conftest import create_user


def test_put_creates_then_updates_idempotently(client, service):
    first = client.put("/api/v1/courses/alg-1", json={"title": "Algebra"}, headers=service)
    assert first.status_code == 201 and first.json == {
        "external_id": "alg-1",
        "title": "Algebra",
        "description": None,
        "time_zone": None,
    }
    again = client.put("/api/v1/courses/alg-1", json={"title": "Algebra"}, headers=service)
    assert again.status_code == 200
    renamed = client.put("/api/v1/courses/alg-1", json={"description": "Year 9"}, headers=service)
    assert renamed.json["title"] == "Algebra" and renamed.json["description"] == "Year 9"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Course)) == 1
    assert client.get("/api/v1/courses/alg-1", headers=service).json["description"] == "Year 9"


def test_full_catalog_through_the_api(client, service):
    create_user("ted", "educator")
    assert client.put("/api/v1/courses/c1", json={"title": "C1"}, headers=service).status_code == 201
    assert (
        client.put(
            "/api/v1/modules/m1", json={"course": "c1", "title": "Intro", "position": 1}, headers=service
        ).status_code
        == 201
    )
    assert client.put("/api/v1/subjects/math", json={"name": "Maths"}, headers=service).status_code == 201
    section = client.put(
        "/api/v1/sections/9a",
        json={"name": "9A", "course": "c1", "subject": "math", "educator": "ted"},
        headers=service,
    )
    assert section.status_code == 201
    assert section.json == {
        "external_id": "9a",
        "name": "9A",
        "course": "c1",
        "subject": "math",
        "educator": "ted",
        "time_zone": None,
    }
    exam = client.put(
        "/api/v1/exams/mid",
        json={"title": "Mid", "max_marks": 40, "held_on": "2026-03-01", "section": "9a"},
        headers=service,
    )
    assert exam.status_code == 201 and exam.json["held_on"] == "2026-03-01"
    assert client.put("/api/v1/users/amy", json={"role": "learner", "name": "Amy"}, headers=service).status_code == 201
    enrolled = client.put("/api/v1/sections/9a/enrollments/amy", json={}, headers=service)
    assert enrolled.status_code == 201 and enrolled.json["status"] == "active"
    dropped = client.put("/api/v1/sections/9a/enrollments/amy", json={"status": "dropped"}, headers=service)
    assert dropped.status_code == 200 and dropped.json["status"] == "dropped"
    roster = client.get("/api/v1/sections/9a/learners", headers=service).json
    [row] = roster["learners"]  # the roster's figures are covered in tests/test_roster.py
    assert roster["section"] == "9a" and row | {"external_id": "amy", "name": "Amy", "status": "dropped"} == row
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment)) == 1


def test_creating_needs_required_fields(client, service):
    response = client.put("/api/v1/modules/m1", json={"title": "Intro"}, headers=service)
    assert response.status_code == 422
    assert response.json["error"]["details"] == [{"path": "course", "reason": "is required"}]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Module)) == 0


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/api/v1/modules/m1", {"course": "ghost", "title": "x"}, "course"),
        ("/api/v1/sections/s1", {"name": "x", "educator": "nobody"}, "educator"),
        ("/api/v1/users/u1", {"role": "wizard"}, "role"),
        ("/api/v1/users/u1", {"role": "learner", "id": 5}, "id"),
        ("/api/v1/exams/e1", {"title": "x", "max_marks": -1}, "max_marks"),
        ("/api/v1/exams/e1", {"title": "x", "held_on": "tomorrow"}, "held_on"),
        ("/api/v1/courses/c1", {"title": ""}, "title"),
    ],
)
def test_bad_entity_bodies_name_the_field(client, service, path, body, field):
    response = client.put(path, json=body, headers=service)
    assert response.status_code == 422
    assert field in [d["path"] for d in response.json["error"]["details"]]


def test_section_educator_must_be_an_educator(client, service):
    create_user("amy", "learner")
    response = client.put("/api/v1/sections/s1", json={"name": "S", "educator": "amy"}, headers=service)
    assert response.status_code == 422
    assert "not an educator" in response.json["error"]["details"][0]["reason"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Section)) == 0


def test_service_cannot_promote_a_learner(client, service):
    create_user("amy", "learner")
    assert client.put("/api/v1/users/amy", json={"role": "admin"}, headers=service).status_code == 403
    assert db.session.scalar(sa.select(User.role).where(User.external_id == "amy")) == "learner"


def test_enrolling_a_non_learner_or_unknown_is_refused(client, service):
    create_user("ted", "educator")
    client.put("/api/v1/sections/s1", json={"name": "S"}, headers=service)
    assert client.put("/api/v1/sections/s1/enrollments/ted", json={}, headers=service).status_code == 422
    assert client.put("/api/v1/sections/s1/enrollments/ghost", json={}, headers=service).status_code == 404
    assert client.put("/api/v1/sections/nope/enrollments/ted", json={}, headers=service).status_code == 404
    bad = client.put("/api/v1/sections/s1/enrollments/ted", json={"status": "graduated"}, headers=service)
    assert bad.status_code == 422 and bad.json["error"]["details"][0]["path"] == "status"


def test_unknown_entity_is_404_and_unknown_route_is_json(client, service):
    assert client.get("/api/v1/courses/nope", headers=service).status_code == 404
    missing = client.get("/api/v1/nothing-here", headers=service)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    wrong_method = client.delete("/api/v1/courses/c1", headers=service)
    assert wrong_method.status_code == 405 and wrong_method.json["error"]["code"] == "method_not_allowed"
