"""A clean educator feed, against two running gunicorn processes and a Celery worker: a message that
several followed channels carry reaches a socket once, under one global id; events reach only the
sections whose business they are; resume across channels repeats and loses nothing; the brief's
message shapes (grade_data, performance_data, attendance_data, exam_data) over a real socket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from services.channels import STREAM_KEY
from tests.conftest import bearer
from tests.realtime_service import (
    NodeClient,
    activity,
    post_events,
    token,
    two_web_processes,  # noqa: F401  (the `live` fixture of this module)
)
from tests.schools import SectionPlan, build_school
from tests.ws_client import Socket

pytestmark = pytest.mark.integration
BOTH = {"section:M", "section:S"}


@pytest.fixture
def school(app):
    """ann in math (M) and science (S), both taught by tea; bob in math only; an admin and a service."""
    people = [
        ("ann", "learner", "Ann Lee"),
        ("bob", "learner", "Bob Otieno"),
        ("tea", "educator", "Ms. Grace Adeyemi"),
        ("root", "admin"),
        ("lms", "service"),
    ]
    sections = [
        SectionPlan("M", "Algebra 9B", "tea", ("ann", "bob"), subject=("math", "Mathematics")),
        SectionPlan("S", "Science 9B", "tea", ("ann",), subject=("sci", "Science")),
    ]
    return build_school(people, sections)


def follow(url: str, who, *channels: str, **query) -> Socket:
    """A /ws socket following these channels, subscribed."""
    socket_ = Socket(url, "/ws", token=token(who), **query)
    socket_.recv_type("subscribed")
    for channel in channels:
        socket_.send({"type": "subscribe", "channel": channel})
        socket_.recv_type("subscribed", where=lambda m, channel=channel: channel in m["data"]["channels"])
    return socket_


def activities(socket_: Socket, count: int) -> list[dict]:
    """The next `count` activity messages, then everything up to a fence: no activity may follow."""
    got = [socket_.recv_type("activity") for _ in range(count)]
    extra = [m for m in socket_.fence() if m["type"] == "activity"]
    assert not extra, f"delivered more than once or more than expected: {extra}"
    return got


def event_ids(messages: list[dict]) -> list[str]:
    return [e["id"] for m in messages for e in m["data"]["events"]]


def test_two_sections_sharing_a_learner_get_each_message_once_under_one_id(live, school):
    dashboard = Socket(live.a, "/ws/dashboard/", token=token(school["tea"]))
    assert set(dashboard.recv_type("subscribed")["data"]["channels"]) == BOTH
    dashboard.recv_type("dashboard_initial_data")
    performance = Socket(live.b, "/ws/performance/tea", token=token(school["tea"]))
    performance.recv_type("subscribed")
    everything = follow(live.a, school["root"], "section:M", "section:S", "learner:ann")
    own = Socket(live.b, "/ws/activity/", token=token(school["ann"]))
    own.recv_type("subscribed")

    post_events(live.a, school, activity("ann", "shared-1"))
    seen = {name: activities(s, 1)[0] for name, s in (("dash", dashboard), ("perf", performance), ("all", everything))}
    mine = activities(own, 1)[0]
    assert {m["id"] for m in (*seen.values(), mine)} == {mine["id"]}, "one global id on every channel"
    assert set(mine["channels"]) == BOTH | {"learner:ann"}
    assert all(event_ids([m]) == ["shared-1"] for m in seen.values())
    post_events(live.b, school, activity("bob", "math-only-1"), activity("ann", "sci-1", subject="sci"))
    for socket_ in (dashboard, performance, everything):
        assert sorted(event_ids(activities(socket_, 2))) == ["math-only-1", "sci-1"]
    for socket_ in (dashboard, performance, everything, own):
        socket_.close()


def test_grades_attendance_and_exams_reach_only_their_sections_with_the_briefs_fields(live, school):
    science = follow(live.a, school["tea"], "section:S")
    math = follow(live.b, school["tea"], "section:M")
    ann = Socket(live.a, "/ws/activity/", token=token(school["ann"]))
    ann.recv_type("subscribed")
    exam = requests.put(
        f"{live.a}/api/v1/exams/XM",
        json={
            "title": "Linear equations quiz",
            "max_marks": 50,
            "section": "M",
            "subject": "math",
            "held_on": "2026-01-06",
        },
        headers=bearer(school["lms"]),
        timeout=5,
    )
    assert exam.status_code == 201, exam.text
    grades = requests.post(
        f"{live.b}/api/v1/exams/XM/grades",
        json={"grades": [{"learner": "ann", "marks": 41}, {"learner": "bob", "marks": 30}]},
        headers=bearer(school["tea"]),
        timeout=5,
    )
    assert grades.status_code == 201, grades.text
    register = requests.post(
        f"{live.a}/api/v1/attendance",
        json={"section": "S", "date": "2026-01-05", "records": [{"learner": "ann", "status": "present"}]},
        headers=bearer(school["tea"]),
        timeout=5,
    )
    assert register.status_code == 201, register.text

    created = ann.recv_type("exam_created")["data"]
    assert created["event"] == "exam_created" and created["exam"] == "XM"
    assert created["exam_data"] == {
        "exam_name": "Linear equations quiz",
        "subject_name": "Mathematics",
        "exam_date": "2026-01-06",
        "total_marks": 50,
        "section_name": "Algebra 9B",
    }
    grade = ann.recv_type("grade_update")
    assert set(grade["channels"]) == {"learner:ann", "section:M"}, "a math grade is not the science section's"
    assert grade["data"]["event"] == "grade_updated" and grade["data"]["marks"] == 41
    assert grade["data"]["grade_data"] == {
        "student_name": "Ann Lee",
        "subject_name": "Mathematics",
        "score": 41,
        "total_marks": 50,
    }
    assert grade["data"]["performance_data"] == {
        "subject_average": 82.0,
        "grades_counted": 1,
        "standing": {"rank": 1, "of": 2, "percentile": 100.0},
    }
    attendance = ann.recv_type("attendance_update")["data"]
    assert attendance["event"] == "attendance_marked" and attendance["attendance_data"] == {
        "student_name": "Ann Lee",
        "date": "2026-01-05",
        "status": "present",
        "attendance_percentage": 100.0,
    }
    on_math = [math.recv_type(kind) for kind in ("exam_created", "grade_update", "grade_update")]
    assert sorted(m["data"]["grade_data"]["student_name"] for m in on_math[1:]) == ["Ann Lee", "Bob Otieno"]
    bob = next(m for m in on_math[1:] if m["data"]["learner"] == "bob")["data"]["performance_data"]
    assert bob["standing"] == {"rank": 2, "of": 2, "percentile": 0.0}
    assert science.recv_type("attendance_update")["channel"] == "section:S"
    assert not [m for m in science.fence() if m["type"] in ("grade_update", "exam_created")]
    assert not [m for m in math.fence() if m["type"] in ("attendance_update", "grade_update")]
    for socket_ in (science, math, ann):
        socket_.close()


def test_resume_across_two_channels_repeats_and_loses_nothing(live, school):
    first = Socket(live.a, "/ws/performance/tea", token=token(school["tea"]))
    first.recv_type("subscribed")
    post_events(live.a, school, activity("ann", "before"))
    last_id = activities(first, 1)[0]["id"]
    first.close()
    post_events(live.b, school, activity("ann", "gap-1"))  # both sections
    post_events(live.a, school, activity("bob", "gap-2"))  # math only
    post_events(live.b, school, activity("ann", "gap-3", subject="sci"))  # science only
    post_events(live.a, school, activity("ann", "gap-4"))  # both

    # A named endpoint delivers in id order: the last id received resumes both of its channels.
    resumed = Socket(live.b, "/ws/performance/tea", token=token(school["tea"]), last_id=last_id)
    resumed.recv_type("subscribed")
    post_events(live.a, school, activity("bob", "live-5"))
    got = activities(resumed, 5)
    assert event_ids(got) == ["gap-1", "gap-2", "gap-3", "gap-4", "live-5"]
    ids = [m["id"] for m in got]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-")))), "in id order"
    resumed.close()

    # On /ws each channel resumes from its own point: math from gap-2 (it carried it), science from
    # gap-1 (the last it carried before); gap-3 and gap-4 come once, nothing else.
    by_channel = {"section:M": got[1]["id"], "section:S": got[0]["id"]}
    chosen = follow(live.a, school["tea"])
    for channel, point in by_channel.items():
        chosen.send({"type": "subscribe", "channel": channel, "last_id": point})
    assert sorted(event_ids(activities(chosen, 3))) == ["gap-3", "gap-4", "live-5"]
    chosen.close()


def following_both(line: dict) -> bool:
    message = line.get("message", {})
    return message.get("type") == "subscribed" and set(message["data"]["channels"]) == BOTH


def test_javascript_client_hands_each_id_over_once(live, school):
    client = NodeClient(live.a, "/ws", token(school["tea"]), channels=("section:M", "section:S"))
    try:
        client.wait_for(lambda l: following_both(l), "both subscriptions")
        post_events(live.a, school, activity("ann", "js-1"))
        client.wait_for(lambda l: "js-1" in client.activity_ids(), "js-1")
        client.command("drop")
        client.wait_for(lambda l: l.get("status") == "reconnecting", "reconnecting status")
        post_events(live.b, school, activity("ann", "js-2", subject="sci"), activity("bob", "js-3"))
        client.wait_for(lambda l: following_both(l), "both subscriptions again")
        post_events(live.a, school, activity("ann", "js-4"))
        client.wait_for(lambda l: "js-4" in client.activity_ids(), "js-4")
        js_1 = next(l["message"]["id"] for l in client.log if "js-1" in str(l.get("message", {}).get("data")))
        before = live.redis().xrevrange(STREAM_KEY.format("section:S"), max=f"({js_1}", count=1)[0][0].decode()
        # Following science again from before js-1: the server skips what math already brought (js-1,
        # js-4) but resends js-2, which only science carried: the client must not hand it over again.
        client.command(f"rewind section:S {before}")
        client.wait_for(lambda l: "rewound" in l, "the rewind")
        post_events(live.b, school, activity("ann", "js-5"))
        client.wait_for(lambda l: "js-5" in client.activity_ids(), "js-5")
        assert client.activity_ids() == ["js-1", "js-2", "js-3", "js-4", "js-5"], "each id handed over once"
        js_2 = next(l["message"]["id"] for l in client.log if "js-2" in str(l.get("message", {}).get("data")))
        assert [l.get("frame") for l in client.log].count(js_2) == 2, "the server did send js-2 again"
    finally:
        client.stop()


def test_the_educators_dashboard_shows_who_is_in_a_session_now(live, school):
    now = datetime.now(UTC)
    post_events(
        live.a,
        school,
        {**activity("ann", "now-1"), "occurred_at": (now - timedelta(minutes=5)).isoformat()},
        {**activity("ann", "now-2"), "occurred_at": now.isoformat()},
        {**activity("bob", "hours-ago"), "occurred_at": (now - timedelta(hours=3)).isoformat()},
    )
    dashboard = Socket(live.b, "/ws/dashboard/", token=token(school["tea"]))
    live_now = dashboard.recv_type("dashboard_initial_data")["data"]["progress"]["live_now"]
    assert [(row["learner"], row["name"], row["events"]) for row in live_now] == [("ann", "Ann Lee", 2)]
    dashboard.close()
    page = requests.get(f"{live.a}/api/v1/sections/M/sessions?days=1", headers=bearer(school["tea"]), timeout=10)
    assert page.status_code == 200 and [row["learner"] for row in page.json()["live_now"]] == ["ann"]
