"""The product brief's progress API (/api/progress and /api/v1/progress) against a real database and Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from models import Event, MetricSnapshot, User, db
from services.evaluation import update_learner_counters
from services.monitoring import evaluate_rules
from tests.conftest import bearer, create_user
from tests.planted_cohort import hour_ago

PREFIXES = ("/api/progress", "/api/v1/progress")


def at(days_ago: float, hour: int = 10) -> str:
    """The clock is read when the fixture runs, not at import: a suite that crossed midnight UTC between
    collecting this module and running it put "today's" activity on the server's yesterday."""
    return hour_ago(days_ago, hour, datetime.now(UTC).replace(microsecond=0))


@pytest.mark.parametrize("now", ["2026-12-01T00:00:55+00:00", "2026-12-01T00:00:00+00:00", "2026-12-01T18:30:00+00:00"])
def test_the_fixture_keeps_today_on_today_and_never_in_the_future(now):
    clock = datetime.fromisoformat(now)
    for hour in (0, 10, 19, 23):
        stamp = datetime.fromisoformat(hour_ago(0, hour, clock))
        assert stamp.date() == clock.date() and stamp <= clock
    assert datetime.fromisoformat(hour_ago(1, 19, clock)).date() == (clock - timedelta(days=1)).date()


@pytest.fixture
def school(client, service, admin):
    """amy improves (50 -> 80 over four weeks) and studies daily; bob declines; ted teaches both, una nobody."""
    ted, una = create_user("ted", "educator"), create_user("una", "educator")
    client.put("/api/v1/courses/c1", json={"title": "C1"}, headers=service)
    for m in range(4):
        client.put(f"/api/v1/modules/m{m}", json={"course": "c1", "title": f"M{m}", "position": m}, headers=service)
    client.put("/api/v1/sections/s1", json={"name": "S1", "course": "c1", "educator": "ted"}, headers=service)
    ages = (26, 22, 18, 12, 8, 4)
    events = [
        {
            "learner": who,
            "kind": "assessment",
            "occurred_at": at(age, 15),
            "score": score,
            "max_score": 100,
            "module": "m0",
        }
        for i, age in enumerate(ages)
        for who, score in (("amy", 50 + 6 * i), ("bob", 85 - 7 * i))
    ]
    events += [
        {"learner": "amy", "kind": "module_completed", "module": f"m{m}", "occurred_at": at(20 - 5 * m, 20)}
        for m in range(2)
    ]
    events += [{"learner": "amy", "kind": "activity", "module": "m1", "occurred_at": at(d, 19)} for d in range(9)]
    assert client.post("/api/v1/events", json={"events": events}, headers=service).status_code == 201
    for learner in ("amy", "bob"):
        client.put(f"/api/v1/sections/s1/enrollments/{learner}", json={}, headers=service)
    ids = list(db.session.scalars(sa.select(User.id).where(User.role == "learner")))
    update_learner_counters(ids)  # what the worker does after ingest (no worker in app tests)
    evaluate_rules(ids, "performance")
    evaluate_rules(ids, "engagement")
    people = {
        name: bearer(db.session.scalar(sa.select(User).where(User.external_id == name))) for name in ("amy", "bob")
    }
    return {**people, "ted": bearer(ted), "una": bearer(una), "service": service, "admin": admin}


def get(client, path, headers, status=200):
    response = client.get(path, headers=headers)
    assert response.status_code == status, response.json
    return response.json


@pytest.mark.parametrize("prefix", PREFIXES)
def test_dashboard_for_the_learner_and_for_each_reader(client, school, prefix):
    own = get(client, f"{prefix}/real-time-dashboard/", school["amy"])
    assert own["user_id"] == "amy" and own["timestamp"]
    summary = own["progress_summary"]
    assert (summary["modules_completed"], summary["total_modules"], summary["progress_percentage"]) == (2, 4, 50.0)
    assert summary["overall_progress"] == 0.5 and summary["streak_days"] >= 8
    assert summary["current_level"] == "Intermediate"  # mean of 50% progress and 65% average
    metrics = own["realtime_metrics"]
    assert metrics["daily_activities"] == 1 and metrics["weekly_assessments"] == 1
    assert metrics["average_score"] == pytest.approx(65.0) and metrics["performance_trend"] == "improving"
    assert metrics["engagement_level"] in ("high", "moderate") and metrics["activity_trend"] in ("steady", "increasing")
    assert len(own["recent_activities"]) == 10 and own["recent_activities"][0]["kind"] == "activity"
    assert len(own["performance_trends"]) == 30 and own["performance_trends"][-1]["activities"] == 1
    assert "Your scores rose 18 points over the last 2 weeks (from 56% to 74%)." in own["insights"]
    for reader in ("ted", "admin", "service"):
        seen = get(client, f"{prefix}/real-time-dashboard/?learner=amy", school[reader])
        assert seen["progress_summary"] == summary
        assert "amy's scores rose 18 points over the last 2 weeks (from 56% to 74%)." in seen["insights"]
        assert not any(s.startswith("Your") for s in seen["insights"])


@pytest.mark.parametrize(
    "path",
    [
        "/real-time-dashboard/",
        "/predictive-analytics/",
        "/trend-analysis/",
        "/analytics/comprehensive/",
        "/snapshots/",
    ],
)
def test_reads_are_refused_where_the_access_rules_say(client, school, path):
    for prefix in PREFIXES:
        assert client.get(f"{prefix}{path}?learner=amy", headers=school["una"]).status_code == 404
        assert client.get(f"{prefix}{path}?learner=amy", headers=school["bob"]).status_code == 404
        assert client.get(f"{prefix}{path}?learner=nobody", headers=school["admin"]).status_code == 404
        refused = client.get(f"{prefix}{path}", headers=school["ted"])
        assert refused.status_code == 400 and refused.json["error"]["details"][0]["path"] == "learner"
        assert client.get(f"{prefix}{path}").status_code == 401


def test_predictive_analytics(client, school):
    body = get(client, "/api/progress/predictive-analytics/?horizon=7", school["amy"])
    forecast = body["performance_forecast"]
    assert body["horizon_days"] == 7 and forecast["horizon_days"] == 7.0
    low, high = forecast["interval"]
    assert low < forecast["predicted_score"] < high and forecast["trend"]["direction"] == "improving"
    completion = body["completion_predictions"][0]
    assert completion["course"] == "c1" and completion["modules_completed"] == 2 and len(completion["interval"]) == 2
    assert 0 <= body["risk_factors"]["probability"] <= 1 and body["risk_factors"]["top_factors"]
    confidence = body["prediction_confidence"]
    assert 0 <= confidence["score_forecast"] <= 1 and "prediction interval" in confidence["meaning"]
    assert body["insights"]
    bob = get(client, "/api/v1/progress/predictive-analytics/?learner=bob", school["ted"])
    assert any(r["source"].startswith("alert:") for r in bob["recommendations"])
    assert client.get("/api/progress/predictive-analytics/?horizon=0", headers=school["amy"]).status_code == 400


def test_trend_analysis(client, school):
    full = get(client, "/api/progress/trend-analysis/?period=28", school["amy"])
    assert full["period_days"] == 28 and full["type"] == "comprehensive"
    performance = full["performance_trends"]
    assert len(performance["daily_average"]) == len(performance["moving_average_7d"]) == 28
    assert performance["assessments"] == 6 and performance["volatility"] > 0
    engagement = full["engagement_patterns"]
    assert engagement["active_days"] >= 9 and sum(engagement["weekly_pattern"].values()) >= 17
    assert full["productivity_peaks"]["peak_hour"] == 19 and full["productivity_peaks"]["peak_period"] == "evening"
    style = full["learning_style_patterns"]
    assert style["preferred_time_of_day"] == "evening" and style["sessions"] >= 9
    assert style["content_mix"]["activity"] == pytest.approx(9 / 17, abs=1e-3)
    assert full["learning_trends"]["modules_completed"] == 2 and full["insights"]
    only = get(client, "/api/v1/progress/trend-analysis/?type=performance&learner=amy", school["ted"])
    assert "performance_trends" in only and "engagement_patterns" not in only
    assert set(get(client, "/api/progress/trend-analysis/?type=engagement", school["amy"])) >= {
        "engagement_patterns",
        "productivity_peaks",
    }
    bad = client.get("/api/progress/trend-analysis/?type=everything", headers=school["amy"])
    assert bad.status_code == 400 and bad.json["error"]["details"][0]["path"] == "type"


def test_comprehensive_metrics_and_summary(client, school):
    full = get(client, "/api/progress/analytics/comprehensive/", school["amy"])
    assert full["progress_summary"]["modules_completed"] == 2 and full["trend"]["points"] == 6
    for prefix in PREFIXES:
        metrics = get(client, f"{prefix}/metrics/user/amy/", school["ted"])
        assert metrics["metrics"]["assessments"] == 6 and metrics["counters"]["events_seen"] == 17
        summary = get(client, f"{prefix}/summary/me/", school["amy"])
        assert summary["user_id"] == "amy" and summary["insights"][0].startswith(("Your", "You"))
        assert get(client, f"{prefix}/summary/bob/", school["admin"])["open_alerts"]
        assert client.get(f"{prefix}/metrics/user/bob/", headers=school["amy"]).status_code == 404
        assert client.get(f"{prefix}/summary/amy/", headers=school["una"]).status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/api/progress/performance-alerts/", "/api/v1/progress/performance-alerts/"],
)
def test_alerts_accept_all_and_alert_types_on_both_prefixes(client, school, path):
    everything = get(client, f"{path}?types=all&severity=all", school["admin"])
    plain = get(client, path, school["admin"])
    assert everything["statistics"] == plain["statistics"] and everything["statistics"]["total"] > 0
    performance = get(client, f"{path}?types=performance", school["admin"])
    assert performance["alerts"] and {a["rule"] for a in performance["alerts"]} <= {
        "performance_decline",
        "declining_trend",
        "baseline_decline",
        "at_risk",
    }
    achievements = get(client, f"{path}?types=achievement,declining_trend", school["admin"])
    assert {a["rule"] for a in achievements["alerts"]} <= {"high_performance", "streak_milestone", "declining_trend"}
    assert get(client, f"{path}?types=system", school["admin"])["alerts"] == []
    assert client.get(f"{path}?types=nonsense", headers=school["admin"]).status_code == 400
    assert {a["learner"] for a in get(client, f"{path}?types=all", school["amy"])["alerts"]} <= {"amy"}
    assert client.get(f"{path}?learner=amy", headers=school["una"]).status_code == 404


def test_unversioned_alerts_speak_the_brief(client, school):
    body = get(client, "/api/progress/performance-alerts/?types=all&severity=all", school["ted"])
    stats = body["alert_statistics"]
    assert stats["total_alerts_last_week"] == body["statistics"]["total_last_week"] > 0
    assert set(stats["alert_frequency"]) == {"performance", "engagement", "achievement", "system"}
    assert sum(stats["alert_frequency"].values()) == body["statistics"]["total"]
    assert stats["average_alerts_per_day"] == body["statistics"]["average_per_day"]
    assert body["current_alerts"] and all(a["status"] in ("open", "acknowledged") for a in body["current_alerts"])


def test_notifications_on_both_prefixes(client, school):
    for prefix in PREFIXES:
        mine = get(client, f"{prefix}/notifications/", school["bob"])
        assert mine["notifications"] and {n["learner"] for n in mine["notifications"]} == {"bob"}
        assert get(client, f"{prefix}/notifications/?learner=bob", school["ted"])["notifications"]
        assert client.get(f"{prefix}/notifications/?learner=bob", headers=school["una"]).status_code == 404


def test_generate_queues_the_evaluation(client, school):
    for prefix in PREFIXES:
        mine = client.post(f"{prefix}/analytics/generate/", headers=school["amy"])
        assert mine.status_code == 202 and mine.json["task_id"] and mine.json["learners"] == ["amy"]
    section = client.post("/api/progress/analytics/generate/", json={"section": "s1"}, headers=school["ted"])
    assert section.status_code == 202 and section.json["learners"] == ["amy", "bob"]
    assert client.post("/api/progress/analytics/generate/?learner=bob", headers=school["ted"]).status_code == 202
    assert client.post("/api/progress/analytics/generate/?learner=bob", headers=school["amy"]).status_code == 404
    assert (
        client.post("/api/progress/analytics/generate/", json={"section": "s1"}, headers=school["una"]).status_code
        == 404
    )
    refused = client.post("/api/progress/analytics/generate/", json={"section": "s1"}, headers=school["amy"])
    assert refused.status_code == 403 and refused.json["error"]["details"][0]["path"] == "section"


def test_snapshots_are_stored_and_listed(client, school):
    before = datetime.now(UTC) - timedelta(seconds=1)
    created = client.post("/api/v1/progress/snapshots/create/?learner=amy", headers=school["ted"])
    assert created.status_code == 201 and created.json["snapshot"]["metrics"]["assessments"] == 6
    client.post("/api/progress/snapshots/create/", headers=school["amy"])
    listed = get(client, "/api/progress/snapshots/?limit=1", school["amy"])
    assert len(listed["snapshots"]) == 1 and listed["next_before"] == listed["snapshots"][0]["id"]
    older = get(client, f"/api/progress/snapshots/?before={listed['next_before']}", school["amy"])
    assert [s["id"] for s in older["snapshots"]] == [created.json["snapshot"]["id"]]
    since = before.isoformat().replace("+00:00", "Z")
    assert len(get(client, f"/api/progress/snapshots/?since={since}", school["amy"])["snapshots"]) == 2
    assert get(client, "/api/progress/snapshots/?until=2000-01-01T00:00:00Z", school["amy"])["snapshots"] == []
    assert client.post("/api/progress/snapshots/create/?learner=amy", headers=school["una"]).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MetricSnapshot)) == 2


def test_track_records_own_activity_through_the_ingest_path(client, school):
    body = {"id": "tab-1", "occurred_at": at(0, 0), "module": "m1", "duration_seconds": 60}
    stored = client.post("/api/progress/track/", json=body, headers=school["amy"])
    assert stored.status_code == 201 and stored.json["stored"] == 1 and stored.json["heartbeat"] is False
    again = client.post("/api/v1/progress/track/", json=body, headers=school["amy"])
    assert again.status_code == 200 and again.json["duplicates"] == 1
    beat = client.post("/api/progress/track/", json={"heartbeat": True, "duration_seconds": 30}, headers=school["amy"])
    assert beat.status_code == 201 and beat.json["heartbeat"] is True
    event = db.session.get(Event, stored.json["ids"][0])
    assert event.kind == "activity" and event.client_id == "self:amy:tab-1" and event.duration_seconds == 60


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"score": 10, "max_score": 10}, "score", 403),
        ({"kind": "assessment"}, "kind", 403),
        ({"kind": "module_completed", "module": "m3"}, "kind", 403),
        ({"marks": 40, "exam": "e1"}, "marks", 403),
        ({"learner": "bob"}, "learner", 403),
        ({"heartbeat": "yes"}, "heartbeat", 422),
        ({"duration_seconds": -5}, "duration_seconds", 422),
        ({"colour": "red"}, "colour", 422),
    ],
)
def test_track_refuses_what_learners_may_not_record(client, school, body, field, status):
    response = client.post("/api/progress/track/", json=body, headers=school["amy"])
    assert response.status_code == status, response.json
    assert field in {d["path"] for d in response.json["error"]["details"]}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.client_id.like("self:%"))) == 0


def test_track_is_for_learners_only(client, school):
    for who in ("ted", "admin", "service"):
        assert client.post("/api/progress/track/", json={}, headers=school[who]).status_code == 403


def test_me_stands_for_the_signed_in_learner(client, school):
    assert get(client, "/api/v1/learners/me/summary", school["amy"])["learner"]["external_id"] == "amy"
    assert get(client, "/api/v1/learners/me/analytics", school["amy"])["learner"] == "amy"
    assert len(get(client, "/api/v1/learners/me/events?kind=assessment", school["bob"])["events"]) == 6
    assert client.get("/api/v1/learners/me/summary").status_code == 401
