"""Analytics endpoints and model training against a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from analytics.bkt import BKTParams, simulate_bkt
from analytics.synthetic import PROFILES, generate_cohort
from models import Course, Enrollment, RiskModelVersion, Section, SkillMastery, SkillModel, User, db
from services.model_training import train_and_store_risk_model
from services.skill_refit import fit_and_store_skill_models
from tests.conftest import bearer, create_user

NOW = datetime.now(UTC).replace(microsecond=0)


def at(days_ago: float) -> str:
    """Read the clock when the fixture runs: a suite crossing midnight UTC after import put today's activity on
    the server's yesterday."""
    return (datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_ago)).isoformat()


@pytest.fixture
def school(client, service):
    ted, una = create_user("ted", "educator"), create_user("una", "educator")
    client.put("/api/v1/courses/c1", json={"title": "C1"}, headers=service)
    for m in range(4):
        client.put(f"/api/v1/modules/m{m}", json={"course": "c1", "title": f"M{m}", "position": m}, headers=service)
    client.put("/api/v1/sections/s1", json={"name": "S1", "course": "c1", "educator": "ted"}, headers=service)
    client.put("/api/v1/exams/e1", json={"title": "Quiz", "max_marks": 50, "section": "s1"}, headers=service)
    events = []
    for i in range(6):
        events.append(
            {
                "learner": "amy",
                "kind": "assessment",
                "occurred_at": at(12 - 2 * i),
                "score": 50 + 6 * i,
                "max_score": 100,
                "module": "m0",
                "skill": "fractions",
            }
        )
        events.append(
            {
                "learner": "bob",
                "kind": "assessment",
                "occurred_at": at(12 - 2 * i),
                "score": 80 - 6 * i,
                "max_score": 100,
                "module": "m0",
                "skill": "fractions",
            }
        )
    events += [
        {"learner": "amy", "kind": "module_completed", "module": f"m{m}", "occurred_at": at(10 - 3 * m)}
        for m in range(2)
    ]
    events += [{"learner": "amy", "kind": "activity", "module": "m1", "occurred_at": at(d)} for d in range(7)]
    assert client.post("/api/v1/events", json={"events": events}, headers=service).status_code == 201
    for learner in ("amy", "bob"):
        client.put(f"/api/v1/sections/s1/enrollments/{learner}", json={}, headers=service)
    client.post(
        "/api/v1/exams/e1/grades",
        json={"grades": [{"learner": "amy", "marks": 40}, {"learner": "bob", "marks": 20}]},
        headers=service,
    )
    return {
        "ted": bearer(ted),
        "una": bearer(una),
        "service": service,
        "amy": bearer(db.session.scalar(sa.select(User).where(User.external_id == "amy"))),
    }


def test_learner_analytics_report(client, school):
    report = client.get("/api/v1/learners/amy/analytics?horizon=7", headers=school["ted"]).json
    assert report["trend"]["direction"] == "improving" and report["trend"]["points"] == 6
    assert report["trend"]["slope_per_assessment"] == pytest.approx(6.0)
    assert report["trend"]["p_value"] < 0.001
    assert report["trend"]["probability_improving"] > 0.999 and report["trend"]["probability_declining"] < 0.001
    forecast = report["forecast"]
    today = datetime.now(UTC).date()
    assert forecast["from_date"] == today.isoformat()  # the horizon counts from today
    assert forecast["target_date"] == (today + timedelta(days=7)).isoformat()
    assert (
        forecast["horizon_days"] == 7
        and forecast["interval"][0] <= forecast["predicted_score"] <= forecast["interval"][1]
    )
    assert report["metrics"]["assessments"] == 6 and report["metrics"]["average_score"] == pytest.approx(65.0)
    assert report["risk"]["light"] in ("green", "amber", "red") and report["risk"]["model"] == "cold_start"
    assert sum(report["patterns"]["by_hour"]) == 6 + 2 + 7
    assert len(report["activity"]["daily"]) == 28 and sum(report["activity"]["weekly"]) == 6 + 2 + 7
    assert report["activity"]["daily"][-1] == 1  # one activity today
    [course] = report["completion"]
    assert (course["course"], course["modules_total"], course["modules_completed"]) == ("c1", 4, 2)
    assert course["predicted_completion"] and course["probability_by_deadline"] is None
    assert report["mastery"][0]["skill"] == "fractions" and report["mastery"][0]["attempts"] == 6
    declining = client.get("/api/v1/learners/bob/analytics", headers=school["ted"]).json
    assert declining["trend"]["direction"] == "declining" and declining["forecast"]["horizon_days"] == 14
    assert declining["trend"]["probability_declining"] > 0.5


def test_deadline_gives_a_probability(client, school):
    deadline = (NOW + timedelta(days=400)).date().isoformat()
    [course] = client.get(f"/api/v1/learners/amy/analytics?deadline={deadline}", headers=school["amy"]).json[
        "completion"
    ]
    assert 0.9 < course["probability_by_deadline"] <= 1.0


@pytest.mark.parametrize(
    "query, name", [("horizon=0", "horizon"), ("horizon=x", "horizon"), ("deadline=soon", "deadline")]
)
def test_bad_parameters_are_400(client, school, query, name):
    response = client.get(f"/api/v1/learners/amy/analytics?{query}", headers=school["ted"])
    assert response.status_code == 400 and response.json["error"]["details"][0]["path"] == name


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/api/v1/learners/amy/analytics", {"amy": 200, "ted": 200, "una": 404, "service": 200}),
        ("/api/v1/learners/bob/analytics", {"amy": 404, "ted": 200, "una": 404, "service": 200}),
        ("/api/v1/sections/s1/analytics", {"amy": 403, "ted": 200, "una": 404, "service": 200}),
        ("/api/v1/courses/c1/analytics", {"amy": 403, "ted": 200, "una": 404, "service": 200}),
        ("/api/v1/exams/e1/analytics", {"amy": 403, "ted": 200, "una": 404, "service": 200}),
        ("/api/v1/courses/nope/analytics", {"amy": 403, "ted": 404, "una": 404, "service": 404}),
    ],
)
def test_analytics_access(client, school, path, expected):
    for actor, status in expected.items():
        assert client.get(path, headers=school[actor]).status_code == status, actor


def test_section_and_exam_cohorts(client, school):
    section = client.get("/api/v1/sections/s1/analytics", headers=school["ted"]).json
    assert section["learners"] == 2 and section["average"] == pytest.approx(65.0)  # both average 65 in c1
    assert sum(section["grade_distribution"].values()) == 2 and section["pass_rate"] == 1.0
    assert [p["learner"] for p in section["top_performers"]] == ["amy", "bob"]  # tie broken by id
    assert len(section["weekly_average"]) == 8
    assert section["unusual_learners"] == []  # too few learners to call anyone unusual
    assert sum(section["risk"].values()) == 2 and set(section["risk"]) == {"green", "amber", "red", "grey"}
    exam = client.get("/api/v1/exams/e1/analytics?pass_mark=50", headers=school["ted"]).json
    assert exam["average"] == pytest.approx(60.0) and exam["pass_rate"] == 0.5
    assert exam["grade_distribution"]["A"] == 1 and exam["grade_distribution"]["F"] == 1
    assert exam["top_performers"][0] == {"learner": "amy", "average": 80.0}


def _ingest_cohort(app, cohort, statuses) -> None:
    """Store a synthetic cohort through the real ingest path and give each learner an outcome."""
    from api.events.ingest import ingest_events

    e = cohort.events
    kinds = {0: "activity", 1: "module_completed", 2: "assessment"}
    section = Section(external_id="hist", name="History")
    db.session.add(section)
    db.session.commit()
    raw = []
    for learner, time, kind, percent in zip(e.learner, e.time, e.kind, e.percent):
        event = {
            "learner": f"h{learner}",
            "kind": kinds[int(kind)],
            "occurred_at": datetime.fromtimestamp(time, UTC).isoformat(),
        }
        if kind == 2:
            event.update(score=round(float(percent), 2), max_score=100)
        if kind == 1:
            continue  # module completions need modules; activity and scores carry the signal here
        raw.append(event)
    for start in range(0, len(raw), 5000):
        ingest_events(raw[start : start + 5000], collection="events", auto_create=True, skew=timedelta(minutes=5))
    ids = dict(db.session.execute(sa.select(User.external_id, User.id)).all())
    db.session.add_all(
        [
            Enrollment(learner_id=ids[f"h{i}"], section_id=section.id, status=statuses[p])
            for i, p in enumerate(cohort.profile)
            if f"h{i}" in ids
        ]
    )
    db.session.commit()


def test_risk_model_trains_on_history_and_records_its_quality(app):
    assert train_and_store_risk_model().kind == "cold_start"  # nothing labelled yet
    now = datetime.now(UTC).timestamp()
    cohort = generate_cohort(400, events_per_learner=40, seed=5, now=now)
    statuses = {
        PROFILES.index("steady"): "completed",
        PROFILES.index("inconsistent"): "completed",
        PROFILES.index("decliner"): "failed",
        PROFILES.index("dropout"): "dropped",
        PROFILES.index("stagnator"): "completed",
    }
    _ingest_cohort(app, cohort, statuses)
    version = train_and_store_risk_model()
    assert version.kind == "trained" and version.samples == 400
    assert version.quality["roc_auc"] > 0.85 and "calibration" in version.quality
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskModelVersion)) == 2


def test_skill_models_fit_by_em_and_rebuild_mastery(app, service, client):
    truth = BKTParams(0.25, 0.15, 0.2, 0.1)
    obs, _ = simulate_bkt(truth, 300, 10, seed=3)
    events = [
        {
            "learner": f"k{i}",
            "kind": "assessment",
            "occurred_at": at(20 - t),
            "score": 1 if obs[i, t] else 0,
            "max_score": 1,
            "skill": "algebra",
        }
        for i in range(300)
        for t in range(10)
    ]
    for start in range(0, len(events), 5000):
        assert (
            client.post("/api/v1/events", json={"events": events[start : start + 5000]}, headers=service).status_code
            == 201
        )
    assert fit_and_store_skill_models() == 1
    fitted = db.session.scalar(sa.select(SkillModel).where(SkillModel.skill == "algebra"))
    assert fitted.sequences == 300
    assert fitted.p_learn == pytest.approx(truth.p_learn, abs=0.06) and fitted.p_slip == pytest.approx(
        truth.p_slip, abs=0.06
    )
    mastery = db.session.scalars(sa.select(SkillMastery.p_mastery)).all()
    assert len(mastery) == 300 and np.mean(mastery) > truth.p_init


def test_mastery_advances_one_step_per_assessment_and_matches_a_replay(client, service):
    from analytics.bkt import DEFAULT_PARAMS, replay, to_padded

    answers = [1, 0, 1, 1, 0, 1, 1, 1]
    events = [
        {
            "id": f"q{i}",
            "learner": "amy",
            "kind": "assessment",
            "occurred_at": at(30 - i),
            "score": a,
            "max_score": 1,
            "skill": "fractions",
        }
        for i, a in enumerate(answers)
    ]
    assert (
        client.post("/api/v1/events", json={"events": events[:3]}, headers=service).status_code == 201
    )  # 3 in one batch
    for event in events[3:]:  # then one per request
        assert client.post("/api/v1/events", json=event, headers=service).status_code == 201
    assert client.post("/api/v1/events", json=events[4], headers=service).json["duplicates"] == 1  # not applied twice
    row = db.session.scalar(sa.select(SkillMastery))
    obs, mask = to_padded(np.zeros(len(answers), dtype=np.int64), np.array(answers, dtype=bool))
    expected = replay(obs, mask, BKTParams(**DEFAULT_PARAMS))[0]
    assert row.p_mastery == pytest.approx(expected, rel=1e-9)
    assert (row.attempts, row.correct) == (8, 6)
    report = client.get("/api/v1/learners/amy/analytics", headers=service).json
    assert report["mastery"] == [
        {"skill": "fractions", "p_mastery": round(expected, 4), "attempts": 8, "mastered": expected >= 0.95}
    ]


def test_rejected_batch_does_not_move_mastery(client, service):
    bad = [
        {"learner": "amy", "kind": "assessment", "occurred_at": at(1), "score": 1, "max_score": 1, "skill": "s"},
        {"learner": "amy", "kind": "assessment", "occurred_at": at(1), "score": 5, "max_score": 1, "skill": "s"},
    ]
    assert client.post("/api/v1/events", json={"events": bad}, headers=service).status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SkillMastery)) == 0


def test_event_loader_returns_exactly_the_stored_events(client, service):
    """load_event_arrays (binary COPY on PostgreSQL, rows on SQLite) against the ORM's view of the same events."""
    from models import Event
    from services.analytics_data import load_event_arrays

    client.put("/api/v1/courses/c1", json={"title": "C1"}, headers=service)
    client.put("/api/v1/modules/m1", json={"course": "c1", "title": "M1"}, headers=service)
    events = [
        {
            "learner": f"L{i % 3}",
            "kind": ("activity", "assessment", "module_completed", "grade")[i % 4],
            "occurred_at": at(i / 7),
        }
        for i in range(40)
    ]
    for event in events:
        if event["kind"] == "assessment":
            event.update(score=7, max_score=8)
        if event["kind"] == "module_completed":
            event["module"] = "m1"
        if event["kind"] == "grade":
            event.update(kind="activity", duration_seconds=5)
    client.post("/api/v1/events", json={"events": events}, headers=service)
    ids = sorted(db.session.scalars(sa.select(User.id).where(User.role == "learner")))
    loaded, module = load_event_arrays(ids)
    stored = db.session.execute(
        sa.select(
            Event.learner_id, Event.occurred_at, Event.kind, Event.score, Event.max_score, Event.module_id
        ).order_by(Event.learner_id, Event.occurred_at, Event.id)
    ).all()
    assert loaded.learner.tolist() == [ids.index(row[0]) for row in stored]
    assert loaded.time == pytest.approx([row[1].timestamp() for row in stored])
    assert loaded.kind.tolist() == [{"activity": 0, "module_completed": 1, "assessment": 2}[row[2]] for row in stored]
    assert np.allclose(
        loaded.percent, [100 * row[3] / row[4] if row[3] is not None else np.nan for row in stored], equal_nan=True
    )
    assert module.tolist() == [row[5] if row[5] is not None else -1 for row in stored]
    by_course, _ = load_event_arrays(ids, course_ids=[db.session.scalar(sa.select(Course.id))])
    assert len(by_course.learner) == sum(1 for row in stored if row[5] is not None)


def test_grade_band_edges_come_from_the_settings(make_app):
    app = make_app(GRADE_BAND_EDGES=(99.0, 98.0, 97.0, 96.0, 95.0, 94.0, 93.0, 92.0))
    with app.app_context():
        from services.reports import cohort_report

        service = bearer(create_user("lms", "service"))
        client = app.test_client()
        client.post(
            "/api/v1/events",
            json={"learner": "amy", "kind": "assessment", "occurred_at": at(1), "score": 91, "max_score": 100},
            headers=service,
        )
        amy = db.session.scalar(sa.select(User.id).where(User.external_id == "amy"))
        assert cohort_report([amy], 60.0)["grade_distribution"]["F"] == 1  # 91% is below the strict D edge


def test_daily_cohort_snapshots_are_stored_and_served(client, school):
    from services.monitoring import store_cohort_snapshots

    assert store_cohort_snapshots() == 1
    history = client.get("/api/v1/sections/s1/analytics/history", headers=school["ted"]).json["history"]
    assert len(history) == 1 and history[0]["learners"] == 2 and history[0]["average"] == pytest.approx(65.0)
    assert client.get("/api/v1/sections/s1/analytics/history", headers=school["una"]).status_code == 404
    assert client.get("/api/v1/sections/s1/analytics/history", headers=school["amy"]).status_code == 403


def test_cohort_views_count_only_learners_the_caller_may_see(client, school, service):
    """A grade recorded for a learner outside the exam's section (here: in una's section only) must not
    reach ted through the exam's aggregate; an admin's view still counts every grade."""
    client.put("/api/v1/sections/s2", json={"name": "S2", "course": "c1", "educator": "una"}, headers=service)
    client.put("/api/v1/sections/s2/enrollments/zoe", json={}, headers=service)
    response = client.post(
        "/api/v1/exams/e1/grades", json={"grades": [{"learner": "zoe", "marks": 5}]}, headers=service
    )
    assert response.status_code == 201, response.json
    seen_by_ted = client.get("/api/v1/exams/e1/analytics", headers=school["ted"]).json
    assert seen_by_ted["learners"] == 2 and "zoe" not in str(seen_by_ted)
    assert client.get("/api/v1/exams/e1/analytics", headers=service).json["learners"] == 3
    course_for_ted = client.get("/api/v1/courses/c1/analytics", headers=school["ted"]).json
    assert course_for_ted["learners"] == 2


def test_the_stored_section_summary_is_what_the_cohort_endpoint_computes(client, school):
    """Dashboards read the summary the worker stores; on the same data it equals the on-demand report."""
    stored = client.get("/api/v1/sections/s1/summary", headers=school["ted"])
    assert stored.status_code == 200 and stored.json["section"] == "s1" and stored.json["as_of"]
    computed = client.get("/api/v1/sections/s1/analytics", headers=school["ted"]).json
    for key in ("learners", "average", "pass_rate", "grade_distribution", "risk", "top_performers"):
        assert stored.json[key] == computed[key], key
    assert client.get("/api/v1/sections/s1/summary", headers=school["una"]).status_code == 404
    assert client.get("/api/v1/sections/s1/summary", headers=school["amy"]).status_code == 403
    bad = client.get("/api/v1/sections/s1/summary?pass_mark=50", headers=school["ted"])
    assert bad.status_code == 400 and bad.json["error"]["details"][0]["path"] == "pass_mark"
