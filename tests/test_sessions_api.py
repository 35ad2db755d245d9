"""GET /learners/<id>/sessions and /sections/<id>/sessions: learning sessions from stored events,
the open one ("live now"), a configurable gap, heartbeats from track/, and the access rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.events import routes
from models import Enrollment, LearnerCounters, Section, db
from services.evaluation import update_learner_counters
from tests.conftest import bearer, create_user


@pytest.fixture
def people(app):
    users = {
        name: create_user(name, role, full)
        for name, role, full in (
            ("ann", "learner", "Ann Lee"),
            ("bob", "learner", "Bob Otieno"),
            ("tea", "educator", None),
            ("eve", "educator", None),
            ("lms", "service", None),
        )
    }
    section = Section(external_id="M", name="Algebra 9B", educator_id=users["tea"].id)
    db.session.add(section)
    db.session.flush()
    db.session.add_all([Enrollment(section_id=section.id, learner_id=users[n].id) for n in ("ann", "bob")])
    db.session.commit()
    return users


def at(minutes_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()


def store(client, people, *events) -> None:
    response = client.post("/api/v1/events", json={"events": list(events)}, headers=bearer(people["lms"]))
    assert response.status_code == 201, response.json


def activity(learner: str, minutes_ago: float, **extra) -> dict:
    return {"learner": learner, "kind": "activity", "occurred_at": at(minutes_ago), **extra}


@pytest.fixture
def history(client, people):
    """ann: a 10-minute session three hours ago, and one still going (last event 2 minutes ago);
    bob: one event two days ago."""
    store(
        client,
        people,
        activity("ann", 180),
        activity("ann", 175),
        {"learner": "ann", "kind": "assessment", "occurred_at": at(170), "score": 8, "max_score": 10},
        activity("ann", 10),
        activity("ann", 2, duration_seconds=60),
        activity("bob", 2 * 24 * 60),
    )
    return people


def test_a_learners_sessions_count_length_time_of_day_and_the_open_one(client, history):
    body = client.get("/api/v1/learners/ann/sessions", headers=bearer(history["tea"])).json
    assert (body["learner"], body["period_days"], body["gap_minutes"], body["time_zone"]) == ("ann", 30, 30, "UTC")
    summary = body["summary"]
    assert summary["sessions"] == 2 and summary["open_now"] is True
    assert summary["longest_minutes"] == 10.0 and sum(summary["time_of_day"].values()) == 2
    assert summary["preferred_time_of_day"] in summary["time_of_day"]
    older, current = body["sessions"][1], body["sessions"][0]  # newest first
    assert older["events"] == 3 and older["activity"] == {
        "activity": 2,
        "module_completed": 0,
        "assessment": 1,
        "heartbeat": 0,
    }
    assert current == body["current_session"] and current["events"] == 2 and current["active_minutes"] == 1.0
    assert 8.9 <= current["minutes"] <= 9.1  # from 10 minutes ago to the end of the last minute-long event


def test_the_gap_is_a_query_parameter(client, history):
    # 6, not 5: the fixture's first two events are 5 minutes (plus the microseconds between two clock reads) apart
    finer = client.get("/api/v1/learners/ann/sessions?gap_minutes=6", headers=bearer(history["ann"])).json
    assert finer["gap_minutes"] == 6 and finer["summary"]["sessions"] == 3
    recent = client.get("/api/v1/learners/ann/sessions?days=1&limit=1", headers=bearer(history["ann"])).json
    assert recent["summary"]["sessions"] == 2 and len(recent["sessions"]) == 1


def test_a_heartbeat_from_track_extends_the_open_session(client, history):
    before = client.get("/api/v1/learners/ann/sessions", headers=bearer(history["ann"])).json["current_session"]
    for minutes_ago in (-0.5, 0):  # the first beat is 30 s old by the time the second is sent
        beat = client.post(
            "/api/v1/progress/track/",
            json={"heartbeat": True, "duration_seconds": 30, "occurred_at": at(minutes_ago + 0.5)},
            headers=bearer(history["ann"]),
        )
        assert beat.status_code == 201 and (beat.json["kind"], beat.json["heartbeat"]) == ("heartbeat", True)
    after = client.get("/api/v1/learners/ann/sessions", headers=bearer(history["ann"])).json["current_session"]
    assert after["start"] == before["start"] and after["events"] == before["events"], "heartbeats are no events"
    assert after["activity"]["heartbeat"] == 2 and after["active_minutes"] == before["active_minutes"]
    assert after["minutes"] == pytest.approx(before["minutes"] + 1, abs=0.1), "to the last beat, not beyond it"


def test_heartbeats_alone_make_a_learner_live_but_count_as_no_activity(client, history, monkeypatch):
    """bob sends only heartbeats: he is in a session ("live now"), and nothing counts them as activity."""
    bob = bearer(history["bob"])
    counted_before = client.get("/api/v1/progress/real-time-dashboard/", headers=bob).json
    announced: list = []
    monkeypatch.setattr(
        routes,
        "announce_events",
        lambda events, evaluate, presence, views=None: announced.append((events, evaluate, [*presence])),
    )
    for minutes_ago in (20, 10, 0):
        beat = client.post(
            "/api/v1/progress/track/",
            json={"heartbeat": True, "occurred_at": at(minutes_ago), "duration_seconds": 600},
            headers=bob,
        )
        assert beat.status_code == 201, beat.json
    assert announced == [([], set(), [history["bob"].id])] * 3, "heartbeats are neither published nor evaluated"
    # ...but they are recorded as presence (services.presence), so bob shows as live
    update_learner_counters([history["bob"].id])
    counters = db.session.get(LearnerCounters, history["bob"].id)
    assert (counters.events_seen, counters.activity_count, counters.time_spent_seconds) == (1, 1, 0.0)
    assert counters.last_activity_at < datetime.now(UTC) - timedelta(days=1), "still his activity two days ago"
    own = client.get("/api/v1/learners/bob/sessions", headers=bob).json
    assert own["summary"]["open_now"] is True and own["current_session"]["events"] == 0
    assert own["current_session"]["minutes"] == pytest.approx(30, abs=0.1), "the first beat covers 10 min before it"
    live = client.get("/api/v1/sections/M/sessions", headers=bearer(history["tea"])).json["live_now"]
    assert ("bob", 0) in [(row["learner"], row["events"]) for row in live]
    counted = client.get("/api/v1/progress/real-time-dashboard/", headers=bob).json
    metrics, metrics_before = counted["realtime_metrics"], counted_before["realtime_metrics"]
    assert metrics["engagement_score"] == pytest.approx(metrics_before["engagement_score"], abs=0.01)  # decays
    assert {**metrics, "engagement_score": 0} == {**metrics_before, "engagement_score": 0}
    assert counted["progress_summary"]["streak_days"] == counted_before["progress_summary"]["streak_days"] == 0
    assert counted["recent_activities"] == counted_before["recent_activities"]
    events = client.get("/api/v1/learners/bob/events?kind=heartbeat", headers=bob).json["events"]
    assert [e["kind"] for e in events] == ["heartbeat"] * 3, "kept in the log as their own kind"


def test_a_sections_sessions_and_who_is_live_now(client, history):
    body = client.get("/api/v1/sections/M/sessions", headers=bearer(history["tea"])).json
    assert body["section"] == "M" and body["summary"]["learners"] == 2
    assert body["summary"]["sessions"] == 3 and body["summary"]["learners_with_sessions"] == 2
    assert [(live["learner"], live["name"], live["events"]) for live in body["live_now"]] == [("ann", "Ann Lee", 2)]
    assert body["summary"]["live_now"] == 1
    bob = next(row for row in body["learners"] if row["learner"] == "bob")
    assert bob["sessions"] == 1 and bob["open_now"] is False and bob["name"] == "Bob Otieno"


@pytest.mark.parametrize(
    "who,path,status",
    [
        ("eve", "/api/v1/sections/M/sessions", 404),  # not her section
        ("eve", "/api/v1/learners/ann/sessions", 404),  # not her learner
        ("bob", "/api/v1/learners/ann/sessions", 404),  # another learner
        ("ann", "/api/v1/sections/M/sessions", 403),  # a section's sessions are its learners' data
        ("ann", "/api/v1/learners/ann/sessions", 200),
        ("lms", "/api/v1/sections/M/sessions", 200),
    ],
)
def test_access_rules(client, history, who, path, status):
    assert client.get(path, headers=bearer(history[who])).status_code == status


@pytest.mark.parametrize(
    "query,name", [("days=0", "days"), ("days=x", "days"), ("gap_minutes=0", "gap_minutes"), ("limit=-1", "limit")]
)
def test_bad_query_parameters_name_the_field(client, history, query, name):
    response = client.get(f"/api/v1/learners/ann/sessions?{query}", headers=bearer(history["tea"]))
    assert response.status_code == 400 and response.json["error"]["details"][0]["path"] == name
