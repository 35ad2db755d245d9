"""Section and course analytics read the entity, its authorization and its enrolled learners in one statement
(services.cohort_reads) and send a repeat read as the bytes kept with its report (services.cohort_reports.
cohort_body): the kept bytes are the computed answer, a refresh, a missing stored state or another entity over
the same learners is answered afresh, and every caller is refused exactly as api.access would refuse them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import Section, SectionSummary, db
from services.cohorts import refresh_sections_of
from services.reports import cohort_report
from tests.statement_count import statements
from tests.test_cohort_reports import summaries_counted
from tests.test_cohort_state import at, course_id, ids, same_report, school  # noqa: F401 (the fixture)

S1 = [f"l{i:02d}" for i in range(30)]


def _section_id(name: str) -> int:
    return db.session.scalar(sa.select(Section.id).where(Section.external_id == name))


def test_a_kept_answer_is_the_computed_one_and_a_refresh_replaces_it(client, school, service, monkeypatch):  # noqa: F811
    first = client.get("/api/v1/sections/s1/analytics", headers=school["ted"])  # computes and stores s1
    counted = summaries_counted(monkeypatch)
    computed = client.get("/api/v1/sections/s1/analytics", headers=school["ted"])  # summarised, then kept
    kept = client.get("/api/v1/sections/s1/analytics", headers=school["ted"])
    assert len(counted) == 1
    assert kept.get_data() == computed.get_data() and kept.json == first.json
    assert kept.get_data() == (json.dumps(kept.json, separators=(",", ":")) + "\n").encode()  # Flask's encoding
    assert kept.headers["Content-Type"] == computed.headers["Content-Type"] == "application/json"
    assert kept.headers["Content-Length"] == str(len(kept.get_data()))
    same_report(kept.json, cohort_report(ids(*S1), 60.0, [course_id("c1")]))
    low = {"learner": "l10", "kind": "assessment", "course": "c1", "occurred_at": at(0.5), "score": 0, "max_score": 100}
    assert client.post("/api/v1/events", json={"events": [low]}, headers=service).status_code == 201
    assert refresh_sections_of(ids("l10"), interval=timedelta(0)) >= 1  # the worker stores s1's refresh
    fresh = client.get("/api/v1/sections/s1/analytics", headers=school["ted"]).json
    assert fresh["average"] < kept.json["average"] and len(counted) == 2
    same_report(fresh, cohort_report(ids(*S1), 60.0, [course_id("c1")]))
    at_50 = client.get("/api/v1/sections/s1/analytics?pass_mark=50", headers=school["ted"]).json
    assert at_50["pass_mark"] == 50 and len(counted) == 3


def test_a_course_and_its_only_section_are_answered_each_with_its_own_name(client, school, service):  # noqa: F811
    client.put("/api/v1/courses/c9", json={"title": "c9"}, headers=service)
    body = {"name": "s9", "course": "c9", "educator": "ted", "subject": "maths"}
    assert client.put("/api/v1/sections/s9", json=body, headers=service).status_code in (200, 201)
    for i in range(5):
        client.put(f"/api/v1/sections/s9/enrollments/l{i:02d}", json={}, headers=service)
    section = client.get("/api/v1/sections/s9/analytics", headers=school["ted"])
    section = client.get("/api/v1/sections/s9/analytics", headers=school["ted"])  # kept from here on
    course = client.get("/api/v1/courses/c9/analytics", headers=school["ted"])  # the same report's key
    assert list(section.json)[0] == "section" and section.json["section"] == "s9"
    assert list(course.json)[0] == "course" and course.json["course"] == "c9"
    assert {k: v for k, v in course.json.items() if k != "course"} == {
        k: v for k, v in section.json.items() if k != "section"
    }


def test_a_section_whose_stored_state_is_gone_is_computed_and_stored_again(client, school):  # noqa: F811
    before = client.get("/api/v1/sections/s1/analytics", headers=school["ted"]).json
    db.session.execute(sa.delete(SectionSummary).where(SectionSummary.section_id == _section_id("s1")))
    db.session.commit()
    again = client.get("/api/v1/sections/s1/analytics", headers=school["ted"]).json
    same_report(again, before)
    same_report(again, cohort_report(ids(*S1), 60.0, [course_id("c1")]))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SectionSummary).where(
        SectionSummary.section_id == _section_id("s1"))) == 1  # fmt: skip


def test_a_repeat_read_is_one_statement(client, school):  # noqa: F811
    for path in ("/api/v1/sections/s1/analytics", "/api/v1/courses/c1/analytics"):
        client.get(path, headers=school["ted"])
        client.get(path, headers=school["ted"])  # the token and the report are kept from here on
        with statements() as seen:
            assert client.get(path, headers=school["ted"]).status_code == 200
        assert len(seen) == 1, seen  # the entity, its authorization and the enrolled learners


REFUSALS = [
    ("una", "/api/v1/sections/s1/analytics", 404, "no section 's1' that you can see"),  # another's section
    ("ted", "/api/v1/sections/s4/analytics", 404, "no section 's4' that you can see"),
    ("ted", "/api/v1/sections/nosuch/analytics", 404, "no section 'nosuch' that you can see"),
    ("una", "/api/v1/courses/c2/analytics", 404, "no course 'c2' that you teach"),  # a course with none of hers
    ("ted", "/api/v1/courses/nosuch/analytics", 404, "no course 'nosuch'"),
    ("learner", "/api/v1/sections/s1/analytics", 403, "this endpoint is for the educator, admin, service role(s), not learner"),
    ("learner", "/api/v1/courses/c1/analytics", 403, "this endpoint is for the educator, admin, service role(s), not learner"),
    ("ted", "/api/v1/sections/s4/analytics?pass_mark=abc", 404, "no section 's4' that you can see"),  # 404 first
    ("ted", "/api/v1/courses/nosuch/analytics?pass_mark=abc", 404, "no course 'nosuch'"),
    ("ted", "/api/v1/sections/s1/analytics?pass_mark=abc", 400, "query parameter pass_mark must be a whole number"),
]  # fmt: skip


@pytest.mark.parametrize(("caller", "path", "status", "message"), REFUSALS)
def test_callers_are_refused_as_access_refuses_them(client, school, caller, path, status, message):  # noqa: F811
    from tests.conftest import bearer, create_user

    headers = bearer(create_user("l00x", "learner")) if caller == "learner" else school[caller]
    response = client.get(path, headers=headers)
    assert (response.status_code, response.json["error"]["message"]) == (status, message)


def test_a_section_without_an_educator_is_read_only_by_those_who_see_everyone(client, school):  # noqa: F811
    db.session.execute(sa.update(Section).where(Section.id == _section_id("s2")).values(educator_id=None))
    db.session.commit()
    assert client.get("/api/v1/sections/s2/analytics", headers=school["ted"]).status_code == 404
    assert client.get("/api/v1/sections/s2/analytics", headers=school["service"]).json["learners"] == 6
    ted = client.get("/api/v1/courses/c1/analytics", headers=school["ted"]).json  # s1 only now
    assert ted["learners"] == 30
    assert client.get("/api/v1/courses/c1/analytics", headers=school["service"]).json["learners"] == 32
