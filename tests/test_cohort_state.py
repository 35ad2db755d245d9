"""Section, course and subject analytics aggregate the per-learner figures the worker stores per section:
the same report as a computation on demand, narrowed to the learners the caller may see, fresh after
the worker's refresh, following enrollments at once, in a constant number of statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from analytics.anomaly import GROWN
from models import Enrollment, Exam, Grade, Section, SectionSummary, User, db
from services.cohort_exams import refresh_exams_of
from services.cohorts import refresh_sections_of, stored_section_report
from services.reports import cohort_report
from tests.conftest import bearer, create_user
from tests.statement_count import statements

NOW = datetime.now(UTC).replace(microsecond=0)
LEARNERS = 30
REPORT_KEYS = (
    "learners",
    "scored",
    "average",
    "pass_rate",
    "grade_distribution",
    "attendance_percent",
    "top_performers",
    "low_performers",
    "weekly_average",
)


def at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


def _events(i: int, course: str) -> list[dict]:
    """Learner i's scores in a course (ability and drift vary; l07 is far off everyone), activity, register."""
    learner = f"l{i:02d}"
    base = 5.0 if i == 7 else 40 + (i * 7) % 55
    out = [
        {
            "learner": learner,
            "kind": "assessment",
            "course": course,
            "occurred_at": at(40 - 3 * k + i % 3),
            "score": min(100.0, base + k * ((i % 5) - 2)),
            "max_score": 100,
        }  # fmt: skip
        for k in range(12)
    ]
    out += [{"learner": learner, "kind": "activity", "course": course, "occurred_at": at(d + i % 4)} for d in range(3)]
    out += [
        {
            "learner": learner,
            "kind": "attendance",
            "date": (NOW - timedelta(days=d + 1)).date().isoformat(),
            "section": "s1",
            "status": "absent" if (i + d) % 4 == 0 else "present",
        }  # fmt: skip
        for d in range(4)
    ]
    return out


@pytest.fixture
def school(client, service):
    """ted teaches s1 and s2 (course c1) and s3 (course c2), all of subject maths; una teaches s4 (c1).
    s1: l00..l29; s2: l00..l04 (again) and l30; s3: l00 and l31 (c2 scores); s4: zoe."""
    ted, una = create_user("ted", "educator"), create_user("una", "educator")
    client.put("/api/v1/subjects/maths", json={"name": "Maths"}, headers=service)
    for course in ("c1", "c2"):
        client.put(f"/api/v1/courses/{course}", json={"title": course}, headers=service)
    sections = {"s1": ("c1", "ted"), "s2": ("c1", "ted"), "s3": ("c2", "ted"), "s4": ("c1", "una")}
    for name, (course, educator) in sections.items():
        body = {"name": name, "course": course, "educator": educator, "subject": "maths"}
        assert client.put(f"/api/v1/sections/{name}", json=body, headers=service).status_code in (200, 201)
    events = [e for i in range(32) for e in _events(i, "c1" if i != 31 else "c2")]
    events += _events(0, "c2")[:12] + _events(40, "c1")[:12]  # l00's c2 scores; zoe's below
    events = [{**e, "learner": "zoe"} if e["learner"] == "l40" else e for e in events]
    response = client.post("/api/v1/events", json={"events": events}, headers=service)
    assert response.status_code == 201, response.json
    roster = {"s1": range(30), "s2": [0, 1, 2, 3, 4, 30], "s3": [0, 31]}
    for section, learners in roster.items():
        for i in learners:
            client.put(f"/api/v1/sections/{section}/enrollments/l{i:02d}", json={}, headers=service)
    client.put("/api/v1/sections/s4/enrollments/zoe", json={}, headers=service)
    client.put("/api/v1/exams/e1", json={"title": "Test", "max_marks": 50, "section": "s1"}, headers=service)
    marks = [{"learner": f"l{i:02d}", "marks": 2.0 if i == 7 else 20 + (i * 3) % 30} for i in range(30)]
    marks.append({"learner": "zoe", "marks": 41})  # graded in ted's exam, enrolled only in una's section
    assert client.post("/api/v1/exams/e1/grades", json={"grades": marks}, headers=service).status_code == 201
    return {"ted": bearer(ted), "una": bearer(una), "service": service}


def ids(*external: str) -> list[int]:
    return list(db.session.scalars(sa.select(User.id).where(User.external_id.in_(external))))


def course_id(name: str) -> int:
    return db.session.scalar(sa.text("SELECT id FROM courses WHERE external_id = :n"), {"n": name})


def same_report(stored: dict, computed: dict, keys=REPORT_KEYS) -> None:
    for key in keys:
        assert stored[key] == computed[key], key


def test_section_analytics_is_the_on_demand_report(client, school):
    stored = client.get("/api/v1/sections/s1/analytics", headers=school["ted"]).json
    computed = cohort_report(ids(*(f"l{i:02d}" for i in range(30))), 60.0, [course_id("c1")])
    same_report(stored, computed, (*REPORT_KEYS, "risk", "unusual_learners"))
    assert stored["learners"] == 30 and stored["unusual_learners"]  # l07 stands out of 30
    assert "l07" in {u["learner"] for u in stored["unusual_learners"]}
    at_50 = client.get("/api/v1/sections/s1/analytics?pass_mark=50", headers=school["ted"]).json
    same_report(at_50, cohort_report(ids(*(f"l{i:02d}" for i in range(30))), 50.0, [course_id("c1")]))
    assert at_50["pass_mark"] == 50 and at_50["pass_rate"] != stored["pass_rate"]


def test_course_and_subject_views_count_each_visible_learner_once(client, school):
    ted_course = client.get("/api/v1/courses/c1/analytics", headers=school["ted"]).json
    ted_learners = [f"l{i:02d}" for i in range(31)]  # s1 and s2, not una's zoe
    same_report(ted_course, cohort_report(ids(*ted_learners), 60.0, [course_id("c1")]))
    assert ted_course["learners"] == 31 and "zoe" not in str(ted_course)
    everyone = client.get("/api/v1/courses/c1/analytics", headers=school["service"]).json
    same_report(everyone, cohort_report(ids(*ted_learners, "zoe"), 60.0, [course_id("c1")]))
    subject = client.get("/api/v1/subjects/maths/analytics", headers=school["ted"]).json
    both = [course_id("c1"), course_id("c2")]
    same_report(subject, cohort_report(ids(*ted_learners, "l31"), 60.0, both))  # l00 over both courses
    assert subject["learners"] == 32 and sum(subject["risk"].values()) == 32
    assert client.get("/api/v1/subjects/maths/analytics", headers=school["una"]).json["learners"] == 1


def test_cohort_views_read_stored_state_until_the_worker_refreshes(client, school, service):
    first = client.get("/api/v1/sections/s1/analytics", headers=school["ted"]).json
    low = {"learner": "l10", "kind": "assessment", "course": "c1", "occurred_at": at(0.5), "score": 0, "max_score": 100}
    assert client.post("/api/v1/events", json={"events": [low]}, headers=service).status_code == 201
    unchanged = client.get("/api/v1/sections/s1/analytics", headers=school["ted"]).json
    assert unchanged == first  # nothing recomputed on the request path
    assert refresh_sections_of(ids("l10"), interval=timedelta(0)) == 1  # what the worker does after evaluating
    fresh = client.get("/api/v1/sections/s1/analytics", headers=school["ted"]).json
    assert fresh["as_of"] > first["as_of"] and fresh["average"] < first["average"]
    summary = client.get("/api/v1/sections/s1/summary", headers=school["ted"]).json
    same_report(summary, fresh, (*REPORT_KEYS, "risk", "unusual_learners", "as_of"))


def test_a_new_enrollment_counts_at_once(client, school, service):
    assert client.get("/api/v1/sections/s2/analytics", headers=school["ted"]).json["learners"] == 6
    client.put("/api/v1/sections/s2/enrollments/l20", json={}, headers=service)
    assert client.get("/api/v1/sections/s2/analytics", headers=school["ted"]).json["learners"] == 7
    db.session.execute(sa.delete(Enrollment).where(Enrollment.learner_id.in_(ids("l20", "l30"))))
    db.session.commit()
    assert client.get("/api/v1/sections/s2/analytics", headers=school["ted"]).json["learners"] == 5


def test_the_velocity_sweep_refreshes_sections_it_passes_over(client, school):
    from services.monitoring import store_snapshots

    client.get("/api/v1/sections/s3/analytics", headers=school["ted"])
    s3 = db.session.scalar(sa.select(Section.id).where(Section.external_id == "s3"))
    old = NOW - timedelta(hours=7)
    db.session.execute(sa.update(SectionSummary).values(updated_at=old))
    db.session.commit()
    store_snapshots(ids("l31"), "velocity")
    assert db.session.get(SectionSummary, s3).updated_at.replace(tzinfo=UTC) > old + timedelta(hours=6)


def test_a_cohort_read_is_a_constant_number_of_statements(client, school):
    for path in ("sections/s1", "courses/c1", "subjects/maths"):
        client.get(f"/api/v1/{path}/analytics", headers=school["ted"])
        with statements() as seen:
            assert client.get(f"/api/v1/{path}/analytics", headers=school["ted"]).status_code == 200
        assert len(seen) <= 7, (path, seen)


def test_stored_member_figures_are_parsed_once_per_version(client, school, service, monkeypatch):
    """A process parses a section's stored figures (a JSON column) once per version (its updated_at): a repeat
    read selects no figures and gives the same report; after a refresh the new version is read at once."""

    def read_figures(statements_seen: list[str]) -> bool:
        return any("section_summaries.members" in " ".join(s.split()).split(" FROM ")[0] for s in statements_seen)

    client.get("/api/v1/courses/c1/analytics", headers=school["ted"])  # computes and stores s4's state
    first = client.get("/api/v1/courses/c1/analytics", headers=school["ted"]).json
    with statements() as seen:
        again = client.get("/api/v1/courses/c1/analytics", headers=school["ted"]).json
    assert again == first and not read_figures(seen)
    low = {"learner": "l10", "kind": "assessment", "course": "c1", "occurred_at": at(0.5), "score": 0, "max_score": 100}
    assert client.post("/api/v1/events", json={"events": [low]}, headers=service).status_code == 201
    assert refresh_sections_of(ids("l10"), interval=timedelta(0)) == 1  # s1, as the worker does
    with statements() as seen:
        fresh = client.get("/api/v1/courses/c1/analytics", headers=school["ted"]).json
    assert read_figures(seen) and fresh["average"] < first["average"]  # as_of: the older s2's
    same_report(fresh, cohort_report(ids(*(f"l{i:02d}" for i in range(31))), 60.0, [course_id("c1")]))
    monkeypatch.setattr("services.cohorts.MEMBER_CACHE_SECTIONS", 1)  # a bounded cache: the oldest goes first
    # so the figures are read and kept again, one at most (the answers' bytes and the reports kept above them too)
    for name in ("cohort_bodies", "cohort_reports", "section_members"):
        client.application.extensions[name].clear()
    assert client.get("/api/v1/courses/c1/analytics", headers=school["ted"]).json == fresh
    assert len(client.application.extensions["section_members"]) == 1


def exam_marks(*external: str) -> tuple[list[int], list[float]]:
    """Learner ids (in id order) and their e1 marks as percents."""
    rows = db.session.execute(
        sa.select(Grade.learner_id, 100.0 * Grade.marks / Exam.max_marks)
        .join(Exam, Exam.id == Grade.exam_id)
        .join(User, User.id == Grade.learner_id)
        .where(Exam.external_id == "e1", User.external_id.in_(external))
        .order_by(Grade.learner_id)
    ).all()
    return [learner for learner, _ in rows], [percent for _, percent in rows]


def test_exam_analytics_is_the_on_demand_report_narrowed_to_who_the_caller_sees(client, school):
    everyone = [f"l{i:02d}" for i in range(30)] + ["zoe"]
    assert refresh_exams_of(ids(*everyone)) == 1  # what the worker does after evaluating the graded learners
    learners, percent = exam_marks(*everyone)
    stored = client.get("/api/v1/exams/e1/analytics", headers=school["service"]).json
    computed = cohort_report(learners, 60.0, scores=np.array(percent))
    same_report(stored, computed, (*REPORT_KEYS, "risk", "unusual_learners"))
    assert stored["learners"] == 31 and len(stored["unusual_learners"]) == 2  # 5% of 31, over all their courses
    learners, percent = exam_marks(*everyone[:30])  # ted teaches s1, not una's zoe
    seen = client.get("/api/v1/exams/e1/analytics?pass_mark=50", headers=school["ted"]).json
    same_report(seen, cohort_report(learners, 50.0, scores=np.array(percent)), (*REPORT_KEYS, "risk"))
    assert seen["learners"] == 30 and "zoe" not in str(seen)
    assert {u["learner"] for u in seen["unusual_learners"]} <= {u["learner"] for u in stored["unusual_learners"]}


def test_a_new_grade_is_refreshed_by_the_worker_despite_the_interval(client, school, service):
    assert refresh_exams_of(ids("l00")) == 1
    assert refresh_exams_of(ids("l00")) == 0  # refreshed moments ago, no grade since
    late = {"grades": [{"learner": "l31", "marks": 30}]}
    assert client.post("/api/v1/exams/e1/grades", json=late, headers=service).status_code == 201
    assert refresh_exams_of(ids("l31")) == 1
    assert client.get("/api/v1/exams/e1/analytics", headers=school["service"]).json["learners"] == 32


def test_the_section_pdf_reads_the_section_analytics_state(client, school):
    learners = ids(*(f"l{i:02d}" for i in range(30)))
    refresh_sections_of(learners, interval=timedelta(0))
    s1 = db.session.execute(sa.select(Section.id, Section.course_id).where(Section.external_id == "s1")).one()
    report = stored_section_report(s1.id, s1.course_id, 55.0)
    same_report(report, cohort_report(learners, 55.0, [course_id("c1")]), (*REPORT_KEYS, "risk", "unusual_learners"))
    assert report == {
        k: v
        for k, v in client.get("/api/v1/sections/s1/analytics?pass_mark=55", headers=school["ted"]).json.items()
        if k != "section"
    }


def test_exam_analytics_and_the_section_pdf_grow_no_forest(client, school):
    graded = ids(*(f"l{i:02d}" for i in range(30)), "zoe")
    refresh_exams_of(graded)  # the worker's work: after evaluations and velocity sweeps
    refresh_sections_of(graded, interval=timedelta(0))
    grown = GROWN["forests"]
    for actor in ("ted", "service"):
        assert client.get("/api/v1/exams/e1/analytics", headers=school[actor]).status_code == 200
        response = client.get("/api/v1/sections/s1/report.pdf?pass_mark=50", headers=school[actor])
        assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert GROWN["forests"] == grown
    refresh_exams_of(graded, interval=timedelta(0))
    assert GROWN["forests"] == grown + 1  # the counter does count the worker's fits
