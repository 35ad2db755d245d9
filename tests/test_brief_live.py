"""Issue 13's "done when", against a running server (gunicorn + a Celery worker): every endpoint of the
product brief answers with real data for each role and is refused where the access rules say, on both
prefixes; the OpenAPI document describes each; the brief's live messages arrive over a real WebSocket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from models import Alert, User, db
from tests.conftest import SECRET, bearer
from tests.processes import running_services, service_env, wait_until
from tests.ws_client import Socket

pytestmark = pytest.mark.integration

PREFIXES = ("/api/progress", "/api/v1/progress")
READS = (  # the brief's reads of one learner: (path, a field that must hold real data)
    ("/real-time-dashboard/", "progress_summary"),
    ("/predictive-analytics/?horizon=7", "performance_forecast"),
    ("/trend-analysis/?period=30&type=comprehensive", "performance_trends"),
    ("/analytics/comprehensive/", "insights"),
    ("/snapshots/", "snapshots"),
)


@pytest.fixture(scope="module")
def live(migrated: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn and a Celery worker for this module only."""
    log_dir: Path = tmp_path_factory.mktemp("brief-logs")
    env = service_env(migrated, redis_url, SECRET)
    with running_services(env, log_dir, "brief") as url:
        yield url


def ago(days: float, hour: int = 10) -> str:
    moment = (datetime.now(UTC) - timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return min(moment, datetime.now(UTC) - timedelta(minutes=5)).isoformat()


def call(live: str, method: str, path: str, headers: dict, **kwargs) -> requests.Response:
    return requests.request(method, f"{live}{path}", headers=headers, timeout=30, **kwargs)


@pytest.fixture
def school(live, app):
    """Built through the running server by its service: course c1 (4 modules), amy in ted's s1, bob in una's
    s2; amy's scores fall (a performance alert), she completed 2 modules; the worker has evaluated both."""
    from tests.conftest import create_user

    people = {n: create_user(n, r) for n, r in (("lms", "service"), ("root", "admin"))}
    lms = bearer(people["lms"])
    for path, body in [
        ("/api/v1/courses/c1", {"title": "Algebra"}),
        *[(f"/api/v1/modules/m{m}", {"course": "c1", "title": f"Unit {m}"}) for m in range(4)],
        ("/api/v1/subjects/math", {"name": "Mathematics"}),
        *[
            (f"/api/v1/users/{n}", {"role": r, "name": f"{n.title()} Test"})
            for n, r in (("amy", "learner"), ("bob", "learner"), ("ted", "educator"), ("una", "educator"))
        ],
        ("/api/v1/sections/s1", {"name": "Algebra 9A", "course": "c1", "subject": "math", "educator": "ted"}),
        ("/api/v1/sections/s2", {"name": "Algebra 9B", "course": "c1", "subject": "math", "educator": "una"}),
        ("/api/v1/sections/s1/enrollments/amy", {}),
        ("/api/v1/sections/s2/enrollments/bob", {}),
    ]:
        assert call(live, "PUT", path, lms, json=body).status_code in (200, 201), path
    events = [{"learner": "amy", "kind": "activity", "occurred_at": ago(d), "module": "m0"} for d in range(8, 0, -1)]
    events += [
        {"learner": "amy", "kind": "assessment", "occurred_at": ago(d, 11), "score": s, "max_score": 100}
        for d, s in ((6, 82), (5, 74), (3, 50), (2, 40))
    ]
    events += [
        {"learner": "amy", "kind": "module_completed", "occurred_at": ago(d, 12), "module": m}
        for d, m in ((6, "m0"), (3, "m1"))
    ]
    events += [{"learner": "bob", "kind": "assessment", "occurred_at": ago(1), "score": 9, "max_score": 10}]
    assert call(live, "POST", "/api/v1/events", lms, json={"events": events}).status_code == 201

    def evaluated() -> bool:
        db.session.rollback()
        return (
            db.session.scalar(sa.select(sa.func.count()).select_from(Alert).where(Alert.rule == "performance_decline"))
            > 0
        )

    wait_until(evaluated, 30, "the worker to evaluate amy and raise her performance alert")
    users = {u.external_id: u for u in db.session.scalars(sa.select(User))}
    return {name: bearer(user) for name, user in users.items()}


def test_every_brief_read_answers_with_real_data_per_role_and_refuses_the_rest(live, school):
    for prefix in PREFIXES:
        for path, field in READS:
            sep = "&" if "?" in path else "?"
            own = call(live, "GET", f"{prefix}{path}", school["amy"])
            assert own.status_code == 200, (path, own.text)
            assert path == "/snapshots/" or own.json()[field] not in (None, [], {}), (path, own.text)
            for who, learner, status in (
                ("amy", "bob", 404),  # another learner
                ("ted", "amy", 200),  # his section's learner
                ("ted", "bob", 404),  # not his learner
                ("una", "amy", 404),
                ("root", "amy", 200),
                ("lms", "amy", 200),
                ("ted", "ghost", 404),
            ):
                response = call(live, "GET", f"{prefix}{path}{sep}learner={learner}", school[who])
                assert response.status_code == status, (prefix, path, who, learner, response.text)
            refused = call(live, "GET", f"{prefix}{path}", school["ted"])
            assert refused.status_code == 400 and refused.json()["error"]["details"][0]["path"] == "learner"
    dashboard = call(live, "GET", "/api/progress/real-time-dashboard/", school["amy"]).json()
    summary, metrics = dashboard["progress_summary"], dashboard["realtime_metrics"]
    assert dashboard["user_id"] == "amy" and (summary["modules_completed"], summary["total_modules"]) == (2, 4)
    assert summary["current_level"] in ("Beginner", "Intermediate", "Advanced") and summary["streak_days"] >= 1
    assert metrics["average_score"] == pytest.approx(61.5) and metrics["performance_trend"] == "declining"
    assert len(dashboard["recent_activities"]) == 10 and dashboard["performance_trends"] and dashboard["insights"]
    assert all(isinstance(s, str) and s for s in dashboard["insights"])
    predicted = call(live, "GET", "/api/progress/predictive-analytics/?horizon=7", school["amy"]).json()
    assert {"completion_predictions", "risk_factors", "recommendations", "prediction_confidence"} <= set(predicted)
    trends = call(live, "GET", "/api/progress/trend-analysis/?period=30", school["amy"]).json()
    assert {"learning_trends", "engagement_patterns", "productivity_peaks", "learning_style_patterns"} <= set(trends)


def test_alerts_notifications_metrics_summary_and_me(live, school):
    for prefix in PREFIXES:
        alerts = call(live, "GET", f"{prefix}/performance-alerts/?types=all&severity=all", school["ted"]).json()
        assert {(a["learner"], a["rule"], a["type"]) for a in alerts["current_alerts"]} >= {
            ("amy", "performance_decline", "performance")
        }
        assert {"total_alerts_last_week", "alert_frequency", "average_alerts_per_day"} <= set(
            alerts["alert_statistics"]
        )
        by_type = call(live, "GET", f"{prefix}/performance-alerts/?types=performance", school["root"]).json()["alerts"]
        assert by_type and {a["type"] for a in by_type} == {"performance"}
        assert call(live, "GET", f"{prefix}/performance-alerts/", school["una"]).json()["alerts"] == []
        assert call(live, "GET", f"{prefix}/performance-alerts/?learner=amy", school["bob"]).status_code == 404
        ted_hears = call(live, "GET", f"{prefix}/notifications/", school["ted"]).json()["notifications"]
        assert {n["learner"] for n in ted_hears} == {"amy"}
        assert call(live, "GET", f"{prefix}/notifications/", school["una"]).json()["notifications"] == []
        for path in ("/metrics/user/{}/", "/summary/{}/"):
            assert call(live, "GET", prefix + path.format("me"), school["amy"]).json()["user_id"] == "amy"
            assert call(live, "GET", prefix + path.format("amy"), school["ted"]).status_code == 200
            assert call(live, "GET", prefix + path.format("amy"), school["una"]).status_code == 404
            assert call(live, "GET", prefix + path.format("amy"), school["bob"]).status_code == 404
    me = call(live, "GET", "/api/v1/learners/me/summary", school["amy"])
    assert me.status_code == 200 and me.json()["learner"]["external_id"] == "amy"
    assert call(live, "GET", "/api/v1/achievements", school["amy"]).json()["achievements"], "the worker awarded some"
    sessions = call(live, "GET", "/api/v1/sections/s1/sessions", school["ted"])
    assert sessions.status_code == 200 and sessions.json()["summary"]["sessions"] >= 1
    assert call(live, "GET", "/api/v1/sections/s1/sessions", school["una"]).status_code == 404


def test_brief_writes_answer_and_refuse(live, school):
    for prefix in PREFIXES:
        created = call(live, "POST", f"{prefix}/snapshots/create/?learner=amy", school["ted"])
        assert created.status_code == 201, created.text
        assert call(live, "POST", f"{prefix}/snapshots/create/?learner=amy", school["una"]).status_code == 404
        queued = call(live, "POST", f"{prefix}/analytics/generate/", school["ted"], json={"section": "s1"})
        assert queued.status_code == 202 and queued.json()["task_id"], queued.text
        assert call(live, "POST", f"{prefix}/analytics/generate/?learner=amy", school["una"]).status_code == 404
        tracked = call(live, "POST", f"{prefix}/track/", school["amy"], json={"duration_seconds": 60})
        assert tracked.status_code == 201 and tracked.json()["kind"] == "activity"
        beat = call(live, "POST", f"{prefix}/track/", school["amy"], json={"heartbeat": True})
        assert beat.status_code == 201 and beat.json()["kind"] == "heartbeat"
        assert call(live, "POST", f"{prefix}/track/", school["ted"], json={}).status_code == 403
        scored = call(live, "POST", f"{prefix}/track/", school["amy"], json={"score": 10, "max_score": 10})
        assert scored.status_code == 403 and scored.json()["error"]["details"][0]["path"] == "score"
    listed = call(live, "GET", "/api/progress/snapshots/", school["amy"]).json()["snapshots"]
    assert len(listed) >= 2 and listed[0]["metrics"]


def test_the_openapi_document_describes_every_brief_path(live, school):
    spec = requests.get(f"{live}/api/v1/openapi.json", timeout=10).json()
    for prefix in PREFIXES:
        for path in (
            "/real-time-dashboard/",
            "/predictive-analytics/",
            "/performance-alerts/",
            "/trend-analysis/",
            "/analytics/comprehensive/",
            "/metrics/user/{external_id}/",
            "/summary/{external_id}/",
            "/notifications/",
            "/analytics/generate/",
            "/snapshots/create/",
            "/snapshots/",
            "/track/",
        ):
            assert f"{prefix}{path}" in spec["paths"], f"{prefix}{path}"
    for path in (
        "/api/v1/achievements",
        "/api/v1/learners/{external_id}/sessions",
        "/api/v1/sections/{external_id}/sessions",
    ):
        assert path in spec["paths"], path


def test_the_brief_live_messages_over_a_real_socket(live, school):
    token = school["amy"]["Authorization"].split()[1]
    dashboard = Socket(live, "/ws/dashboard/", token=token)
    initial = dashboard.recv_type("dashboard_initial_data")["data"]
    rest = call(live, "GET", "/api/progress/real-time-dashboard/", school["amy"]).json()
    assert len(initial["session_id"]) == 32 and initial["progress_summary"] == rest["progress_summary"]
    assert set(initial["realtime_metrics"]) == set(rest["realtime_metrics"])
    dashboard.close()
    teacher = Socket(live, "/ws/activity/", token=school["ted"]["Authorization"].split()[1])
    teacher.recv_type("subscribed")
    lms = school["lms"]
    exam = {"title": "Quiz 1", "max_marks": 20, "held_on": ago(0)[:10], "subject": "math", "section": "s1"}
    assert call(live, "PUT", "/api/v1/exams/q1", lms, json=exam).status_code == 201
    created = teacher.recv_type("exam_created")["data"]
    assert created["event"] == "exam_created" and created["exam_data"]["section_name"] == "Algebra 9A"
    assert call(live, "POST", "/api/v1/exams/q1/grades", lms, json={"grades": [{"learner": "amy", "marks": 15}]}).ok
    graded = teacher.recv_type("grade_update")["data"]
    assert graded["event"] == "grade_updated" and graded["grade_data"]["student_name"] == "Amy Test"
    assert (graded["grade_data"]["score"], graded["grade_data"]["total_marks"]) == (15, 20)
    assert graded["performance_data"]["subject_average"] == 75.0
    roll = {"section": "s1", "date": ago(0)[:10], "records": [{"learner": "amy", "status": "present"}]}
    assert call(live, "POST", "/api/v1/attendance", lms, json=roll).ok
    marked = teacher.recv_type("attendance_update")["data"]
    assert (
        marked["attendance_data"]["status"] == "present" and marked["attendance_data"]["attendance_percentage"] == 100.0
    )
    teacher.close()
    other = Socket(live, "/ws", token=school["una"]["Authorization"].split()[1])
    other.send({"type": "subscribe", "channel": "learner:amy"})
    assert other.recv_type("error")["data"]["code"] in ("forbidden", "not_found")
    other.close()
