"""Cohort reports are kept per process keyed by their inputs (services.cohort_reports): a repeat read is the
same report without summarising again; a refresh the worker stores, an enrollment (even one written by
plain SQL) or another caller's narrower view is computed afresh, never served from another key."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from models import Enrollment, Section, db
from services.cohorts import refresh_sections_of
from services.reports import cohort_report
from tests.statement_count import statements
from tests.test_cohort_state import at, course_id, ids, same_report, school  # noqa: F401 (the fixture)

TED_C1 = [f"l{i:02d}" for i in range(31)]  # s1 and s2


def summaries_counted(monkeypatch) -> list[int]:
    """Count the summaries computed from stored figures (what a cached report skips)."""
    import services.cohort_reports as cohort_reports

    counted: list[int] = []
    real = cohort_reports.summarize

    def counting(*args, **kwargs):
        counted.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(cohort_reports, "summarize", counting)
    return counted


def test_a_repeat_read_is_kept_and_a_stored_refresh_shows_in_the_next(client, school, service, monkeypatch):  # noqa: F811
    client.get("/api/v1/courses/c1/analytics", headers=school["ted"])  # stores s1 and s2 (never summarised yet)
    counted = summaries_counted(monkeypatch)
    first = client.get("/api/v1/courses/c1/analytics", headers=school["ted"]).json
    with statements() as seen:
        again = client.get("/api/v1/courses/c1/analytics", headers=school["ted"]).json
    assert again == first and len(counted) == 1
    assert not any("FROM users" in s and "external_id" in s.split("FROM")[0] for s in seen)  # no performers' names
    low = {"learner": "l10", "kind": "assessment", "course": "c1", "occurred_at": at(0.5), "score": 0, "max_score": 100}
    assert client.post("/api/v1/events", json={"events": [low]}, headers=service).status_code == 201
    assert client.get("/api/v1/courses/c1/analytics", headers=school["ted"]).json == first  # stored state, as before
    assert refresh_sections_of(ids("l10"), interval=timedelta(0)) == 1  # the worker stores s1's refresh
    fresh = client.get("/api/v1/courses/c1/analytics", headers=school["ted"]).json
    assert len(counted) == 2 and fresh["average"] < first["average"]
    same_report(fresh, cohort_report(ids(*TED_C1), 60.0, [course_id("c1")]))
    other_mark = client.get("/api/v1/courses/c1/analytics?pass_mark=50", headers=school["ted"]).json
    assert other_mark["pass_mark"] == 50 and len(counted) == 3  # the pass mark is part of the key


def test_each_caller_gets_the_report_over_the_learners_they_may_see(client, school, monkeypatch):  # noqa: F811
    client.get("/api/v1/courses/c1/analytics", headers=school["service"])  # stores every section of c1
    counted = summaries_counted(monkeypatch)
    ted = client.get("/api/v1/courses/c1/analytics", headers=school["ted"]).json
    una = client.get("/api/v1/courses/c1/analytics", headers=school["una"]).json  # after ted's, warm
    everyone = client.get("/api/v1/courses/c1/analytics", headers=school["service"]).json
    assert (ted["learners"], una["learners"], everyone["learners"]) == (31, 1, 32) and len(counted) == 3
    shown = {p["learner"] for key in ("top_performers", "low_performers") for p in una[key]}
    assert "zoe" not in str(ted) and shown == {"zoe"}
    same_report(una, cohort_report(ids("zoe"), 60.0, [course_id("c1")]))
    assert client.get("/api/v1/courses/c1/analytics", headers=school["ted"]).json == ted and len(counted) == 3
    s2 = db.session.scalar(sa.select(Section.id).where(Section.external_id == "s2"))
    db.session.execute(sa.update(Section).where(Section.id == s2).values(educator_id=None))  # s2 leaves ted
    db.session.commit()
    narrower = client.get("/api/v1/courses/c1/analytics", headers=school["ted"]).json
    assert narrower["learners"] == 30 and len(counted) == 4  # l30 was only in s2


def test_an_enrollment_written_by_plain_sql_counts_at_once(client, school):  # noqa: F811
    s1 = db.session.scalar(sa.select(Section.id).where(Section.external_id == "s1"))
    assert client.get("/api/v1/sections/s1/analytics", headers=school["ted"]).json["learners"] == 30
    db.session.execute(sa.delete(Enrollment).where(Enrollment.section_id == s1, Enrollment.learner_id.in_(ids("l03"))))
    db.session.execute(sa.insert(Enrollment).values(section_id=s1, learner_id=ids("l31")[0], status="active"))
    db.session.commit()
    moved = client.get("/api/v1/sections/s1/analytics", headers=school["ted"]).json
    assert moved["learners"] == 30  # as many as before, not the same learners
    learners = ids(*(f"l{i:02d}" for i in range(31) if i not in (3, 30)), "l31")
    same_report(moved, cohort_report(learners, 60.0, [course_id("c1")]))
