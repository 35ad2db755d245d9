"""POST /attendance and POST /exams/<id>/grades land in the same event log."""

from __future__ import annotations

import sqlalchemy as sa

from models import Attendance, Event, Exam, Grade, db


def setup_school(client, service):
    client.put("/api/v1/sections/s1", json={"name": "S1"}, headers=service)
    client.put("/api/v1/exams/e1", json={"title": "Quiz", "max_marks": 20, "section": "s1"}, headers=service)


def test_register_for_a_day(client, service):
    setup_school(client, service)
    response = client.post(
        "/api/v1/attendance",
        headers=service,
        json={
            "section": "s1",
            "date": "2026-02-02",
            "records": [{"learner": "amy", "status": "present"}, {"learner": "bob", "status": "absent", "id": "r-bob"}],
        },
    )
    assert response.status_code == 201 and response.json["stored"] == 2
    assert sorted(db.session.scalars(sa.select(Attendance.status))) == ["absent", "present"]
    kinds = db.session.scalars(sa.select(Event.kind)).all()
    assert kinds == ["attendance", "attendance"]
    correction = client.post(
        "/api/v1/attendance",
        headers=service,
        json={"section": "s1", "date": "2026-02-02", "records": [{"learner": "bob", "status": "late"}]},
    )
    assert correction.status_code == 201
    assert sorted(db.session.scalars(sa.select(Attendance.status))) == ["late", "present"]


def test_register_refusals(client, service):
    setup_school(client, service)
    bad = client.post(
        "/api/v1/attendance",
        headers=service,
        json={
            "section": "s1",
            "date": "2026-02-02",
            "records": [
                {"learner": "amy", "status": "present"},
                {"learner": "bob", "status": "sleeping"},
                {"learner": "cy", "status": "present", "mood": "happy"},
            ],
        },
    )
    assert bad.status_code == 422
    assert [d["path"] for d in bad.json["error"]["details"]] == ["records[1].status", "records[2].mood"]
    missing = client.post("/api/v1/attendance", headers=service, json={"records": []})
    assert {d["path"] for d in missing.json["error"]["details"]} == {"section", "date"}
    unknown = client.post(
        "/api/v1/attendance",
        headers=service,
        json={"section": "zz", "date": "2026-02-02", "records": [{"learner": "a", "status": "present"}]},
    )
    assert unknown.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0


def test_mark_sheet_for_an_exam(client, service):
    setup_school(client, service)
    response = client.post(
        "/api/v1/exams/e1/grades",
        headers=service,
        json={"grades": [{"learner": "amy", "marks": 18}, {"learner": "bob", "marks": 9.5}]},
    )
    assert response.status_code == 201 and response.json["stored"] == 2
    assert sorted(db.session.scalars(sa.select(Grade.marks))) == [9.5, 18]
    exam_id = db.session.scalar(sa.select(Exam.id))
    assert set(db.session.scalars(sa.select(Event.exam_id))) == {exam_id}


def test_mark_sheet_refusals(client, service):
    setup_school(client, service)
    too_high = client.post(
        "/api/v1/exams/e1/grades",
        headers=service,
        json={"grades": [{"learner": "amy", "marks": 18}, {"learner": "bob", "marks": 21}]},
    )
    assert too_high.status_code == 422
    assert too_high.json["error"]["details"][0]["path"] == "grades[1].marks"
    assert (
        client.post(
            "/api/v1/exams/nope/grades", headers=service, json={"grades": [{"learner": "amy", "marks": 1}]}
        ).status_code
        == 404
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Grade)) == 0
