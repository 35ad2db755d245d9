"""Live updates end to end: two gunicorn processes, a Celery worker, a Redis we can restart, and real
WebSocket clients. Covers authentication and refusals, the subscription authorization matrix,
initial data, live delivery, resume, heartbeats, slow clients, Redis restarts and cross-process delivery."""

from __future__ import annotations

import socket
import time

import pytest
import requests
from websockets.exceptions import ConnectionClosed

from bench.ws_raw import open_until_initial_data
from models import User, db
from services.publisher import publish
from tests.conftest import bearer
from tests.processes import wait_until
from tests.realtime_service import (
    ALLOWED_ORIGIN,
    NodeClient,
    activity,
    post_events,
    token,
    two_web_processes,  # noqa: F401  (the `live` fixture of this module)
)
from tests.schools import PEOPLE, build_school, two_sections
from tests.ws_client import Socket

pytestmark = pytest.mark.integration


@pytest.fixture
def school(app):
    """amy and bea in section S1 taught by ed; cal in S2 taught by eve; an admin and a service."""
    return build_school(PEOPLE, two_sections())


# --- authentication and refusals ----------------------------------------------------------------


def test_token_in_query_or_first_message_and_ping(live, school):
    by_query = Socket(live.a, "/ws/alerts/", token=token(school["amy"]))
    assert by_query.recv() == {**by_query.seen[-1], "type": "subscribed", "data": {"channels": ["learner:amy"]}}
    by_message = Socket(live.a, "/ws/alerts/")
    by_message.send({"type": "auth", "token": token(school["amy"])})
    assert by_message.recv()["data"] == {"channels": ["learner:amy"]}
    by_message.send({"type": "ping"})
    pong = by_message.recv()
    assert pong["type"] == "pong" and pong["id"] is None and pong["timestamp"]
    by_query.close()
    by_message.close()


@pytest.mark.parametrize("case", ["bad_token", "expired", "not_auth_first", "not_json", "silent", "inactive"])
def test_refused_before_anything_is_sent(live, school, case):
    if case == "inactive":
        school["amy"].active = False
        db.session.commit()
    socket_ = Socket(live.a, "/ws/dashboard/", **({"token": "not-a-token"} if case == "bad_token" else {}))
    if case == "expired":
        socket_.send({"type": "auth", "token": token(school["amy"], ttl=-10)})
    elif case == "not_auth_first":
        socket_.send({"type": "subscribe", "channel": "learner:amy"})
    elif case == "not_json":
        socket_.ws.send("{oops")
    elif case == "inactive":
        socket_.send({"type": "auth", "token": token(school["amy"])})
    code, messages = socket_.closed_with()
    assert [m["type"] for m in messages] == ["error"], messages
    expected = {"silent": 4408, "not_json": 4400}.get(case, 4401)
    assert code == expected, (case, code, messages)
    assert messages[0]["data"]["code"] in ("invalid_token", "unauthorized", "auth_timeout", "bad_request")


def test_origin_allow_list(live, school):
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    refused = requests.get(f"{live.a}/ws/alerts/", headers={**upgrade, "Origin": "https://evil.example"}, timeout=5)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "origin_not_allowed"
    allowed = Socket(live.a, "/ws/alerts/", headers={"Origin": ALLOWED_ORIGIN}, token=token(school["amy"]))
    assert allowed.recv()["type"] == "subscribed"
    allowed.close()


def test_deactivation_closes_the_users_sockets_on_every_web_process(live, school):
    """Revocation reaches open sockets within seconds, on both web processes, not at token expiry."""
    amy = token(school["amy"], ttl=3600)
    on_a = Socket(live.a, "/ws/dashboard/", token=amy)
    on_b = Socket(live.b, "/ws/alerts/", token=amy)
    bea = Socket(live.b, "/ws/alerts/", token=token(school["bea"], ttl=3600))
    for socket_ in (on_a, on_b, bea):
        socket_.recv_type("subscribed")
    started = time.monotonic()
    response = requests.put(
        f"{live.a}/api/v1/users/amy", json={"active": False}, headers=bearer(school["lms"]), timeout=10
    )
    assert response.status_code == 200, response.text
    for socket_ in (on_a, on_b):
        code, messages = socket_.closed_with(timeout=5)
        assert code == 4401 and messages[-1]["data"]["code"] == "revoked"
    assert time.monotonic() - started < 5
    assert all(m["type"] != "error" for m in bea.fence())  # others keep their sockets
    bea.close()
    refused = Socket(live.b, "/ws/alerts/", token=amy)
    code, messages = refused.closed_with(timeout=5)
    assert code == 4401  # and a new socket with the old token is refused


def test_token_expiry_ends_the_session(live, school):
    socket_ = Socket(live.a, "/ws/alerts/", token=token(school["amy"], ttl=2))
    assert socket_.recv()["type"] == "subscribed"
    code, messages = socket_.closed_with(timeout=10)
    assert code == 4401 and messages[-1]["data"]["code"] == "token_expired"


# --- authorization ------------------------------------------------------------------------------

SUBSCRIPTIONS = {
    # who: {channel: allowed}
    "amy": {"learner:amy": True, "learner:bea": False, "learner:cal": False, "section:S1": False, "admin": False},
    "ed": {
        "learner:amy": True,
        "learner:bea": True,
        "learner:cal": False,
        "section:S1": True,
        "section:S2": False,
        "admin": False,
    },
    "root": {"learner:amy": True, "learner:cal": True, "section:S1": True, "section:S2": True, "admin": True},
    "lms": {"learner:cal": True, "section:S2": True, "admin": True},
}


def test_subscription_authorization_matrix(live, school):
    for who, channels in SUBSCRIPTIONS.items():
        socket_ = Socket(live.a, "/ws", token=token(school[who]))
        assert socket_.recv()["data"] == {"channels": []}
        for channel, allowed in {**channels, "learner:nobody": False, "bogus": False, "section:": False}.items():
            socket_.send({"type": "subscribe", "channel": channel})
            reply = socket_.recv()
            if allowed:
                assert reply["type"] == "subscribed" and channel in reply["data"]["channels"], (who, channel, reply)
            else:
                assert reply["type"] == "error" and reply["channel"] == channel, (who, channel, reply)
                assert reply["data"]["code"] in ("forbidden", "not_found"), reply
        # Data on every channel: the socket receives only what it was allowed to follow.
        publish(live.redis(), [("activity", channel, {"probe": channel}) for channel in channels])
        time.sleep(0.3)
        got = {m["channel"] for m in socket_.fence()}
        assert got == {c for c, ok in channels.items() if ok}, (who, got)
        socket_.close()


@pytest.mark.parametrize(
    "who,educator,allowed",
    [
        ("ed", "ed", True),
        ("root", "ed", True),
        ("eve", "ed", False),
        ("amy", "ed", False),
        ("root", "amy", False),
        ("root", "nobody", False),
    ],
)
def test_performance_endpoint_is_for_the_educator_and_admins(live, school, who, educator, allowed):
    socket_ = Socket(live.a, f"/ws/performance/{educator}", token=token(school[who]))
    if allowed:
        assert socket_.recv()["data"] == {"channels": ["section:S1"]}
        socket_.close()
    else:
        code, messages = socket_.closed_with()
        assert code == 4404 and [m["data"]["code"] for m in messages] == ["not_found"]


def test_named_endpoints_refuse_channel_changes(live, school):
    socket_ = Socket(live.a, "/ws/metrics/", token=token(school["amy"]))
    socket_.recv()
    socket_.send({"type": "subscribe", "channel": "learner:bea"})
    reply = socket_.recv()
    assert reply["type"] == "error" and reply["data"]["field"] == "type"
    socket_.send({"type": "explode"})
    assert socket_.recv()["data"] == {
        "code": "bad_request",
        "message": "must be one of auth, subscribe, unsubscribe, ping",
        "field": "type",
    }
    socket_.close()


# --- initial data and live delivery -------------------------------------------------------------


def test_dashboard_sends_initial_data_then_live_updates(live, school):
    post_events(
        live.a,
        school,
        *[
            {
                "id": f"low-{i}",
                "learner": "amy",
                "kind": "assessment",
                "score": 5,
                "max_score": 100,
                "occurred_at": f"2026-01-0{i + 1}T10:00:00Z",
            }
            for i in range(3)
        ],
    )
    alerts_url = f"{live.a}/api/v1/progress/performance-alerts/"
    wait_until(
        lambda: requests.get(alerts_url, headers=bearer(school["amy"]), timeout=5).json()["alerts"],
        20,
        "the worker to raise amy's alert",
    )
    dashboard = Socket(live.b, "/ws/dashboard/", token=token(school["amy"]))
    assert dashboard.recv()["type"] == "subscribed"
    initial = dashboard.recv()
    assert initial["type"] == "dashboard_initial_data"
    data = initial["data"]
    assert data["user"] == {"external_id": "amy", "role": "learner"}
    assert data["metrics"]["assessments"] == 3 and data["metrics"]["counters"]["events_seen"] == 3
    assert {a["rule"] for a in data["alerts"]} >= {"performance_decline"} and data["recommendations"]
    assert {"trend", "forecast", "risk", "completion"} <= set(data["progress"])
    # the product brief's blocks, with the same figures as GET real-time-dashboard/, and this socket's session id
    brief = requests.get(f"{live.a}/api/v1/progress/real-time-dashboard/", headers=bearer(school["amy"]), timeout=10)
    assert data["progress_summary"] == brief.json()["progress_summary"]
    assert set(data["realtime_metrics"]) >= {
        "daily_activities",
        "average_score",
        "engagement_level",
        "performance_trend",
    }
    assert data["realtime_metrics"]["average_score"] == brief.json()["realtime_metrics"]["average_score"]
    assert isinstance(data["session_id"], str) and len(data["session_id"]) == 32
    post_events(live.a, school, activity("amy", "live-1"))
    update = dashboard.recv_type("activity")
    assert update["channel"] == "learner:amy" and update["data"]["events"][0]["id"] == "live-1"
    assert dashboard.recv_type("metrics_update")["data"]["learner"] == "amy"
    dashboard.close()


def test_educator_dashboard_and_admin_initial_data(live, school):
    for who, key in (("ed", "sections"), ("root", "alert_statistics")):
        socket_ = Socket(live.a, "/ws/dashboard/", token=token(school[who]))
        socket_.recv()
        data = socket_.recv_type("dashboard_initial_data")["data"]
        assert key in data["progress"] and data["session_id"], data
        if who == "ed":
            assert [s["section"] for s in data["progress"]["sections"]] == ["S1"]
        socket_.close()


def test_the_benchs_lean_client_opens_a_dashboard_as_a_browser_does(live, school):
    """bench/ws_raw.py (what bench/reads.py times dashboard opens with) gets the same initial data and is refused
    as any client is."""
    url = live.a.replace("http://", "ws://") + "/ws/dashboard/?token="
    opened = open_until_initial_data(url + token(school["ed"]))
    assert [s["section"] for s in opened["data"]["progress"]["sections"]] == ["S1"]
    with pytest.raises(RuntimeError, match="invalid_token"):
        open_until_initial_data(url + "not-a-token")


def test_events_grades_attendance_and_exams_are_published(live, school):
    teacher = Socket(live.b, "/ws/performance/ed", token=token(school["ed"]))
    learner = Socket(live.b, "/ws/activity/", token=token(school["amy"]))
    other = Socket(live.b, "/ws/activity/", token=token(school["cal"]))
    for socket_ in (teacher, learner, other):
        socket_.recv()
    service = bearer(school["lms"])
    post_events(live.a, school, activity("amy", "a-1"), activity("amy", "a-2"), activity("bea", "b-1"))
    exam = requests.put(
        f"{live.a}/api/v1/exams/X1",
        json={"title": "Midterm", "max_marks": 50, "section": "S1"},
        headers=service,
        timeout=5,
    )
    assert exam.status_code == 201, exam.text
    grades = requests.post(
        f"{live.a}/api/v1/exams/X1/grades",
        json={"grades": [{"learner": "amy", "marks": 41}]},
        headers=bearer(school["ed"]),
        timeout=5,
    )
    assert grades.status_code == 201, grades.text
    register = requests.post(
        f"{live.a}/api/v1/attendance",
        headers=bearer(school["ed"]),
        timeout=5,
        json={"section": "S1", "date": "2026-01-05", "records": [{"learner": "amy", "status": "present"}]},
    )
    assert register.status_code == 201, register.text

    mine = learner.recv_type("activity")
    assert mine["data"]["learner"] == "amy" and [e["id"] for e in mine["data"]["events"]] == ["a-1", "a-2"]
    assert learner.recv_type("exam_created")["data"]["exam"] == "X1"
    grade = learner.recv_type("grade_update")["data"]
    assert (grade["learner"], grade["exam"], grade["marks"]) == ("amy", "X1", 41)
    assert learner.recv_type("attendance_update")["data"]["status"] == "present"
    seen_by_teacher = [teacher.recv_type("activity")["data"]["learner"] for _ in range(2)]
    assert sorted(seen_by_teacher) == ["amy", "bea"]
    assert teacher.recv_type("exam_created")["channel"] == "section:S1"
    assert not [m for m in other.fence() if m["type"] != "metrics_update"], "cal must see nothing of section S1"
    for socket_ in (teacher, learner, other):
        socket_.close()


def test_alert_caused_on_process_a_reaches_a_socket_on_process_b(live, school):
    on_b = Socket(live.b, "/ws/alerts/", token=token(school["bea"]))
    assert on_b.recv()["type"] == "subscribed"
    post_events(
        live.a,
        school,
        *[
            {
                "id": f"bea-low-{i}",
                "learner": "bea",
                "kind": "assessment",
                "score": 3,
                "max_score": 100,
                "occurred_at": f"2026-01-0{i + 1}T10:00:00Z",
            }
            for i in range(3)
        ],
    )
    alert = on_b.recv_type("alert", timeout=20)
    assert alert["channel"] == "learner:bea" and alert["data"]["rule"] == "performance_decline"
    assert [m["type"] for m in on_b.seen] == ["subscribed", "alert"], "the alerts endpoint forwards alerts only"
    on_b.close()


# --- resume, heartbeats, slow clients, Redis restarts --------------------------------------------


def test_resume_after_disconnect_loses_and_repeats_nothing(live, school):
    first = Socket(live.a, "/ws", token=token(school["amy"]))
    first.recv()
    first.send({"type": "subscribe", "channel": "learner:amy"})
    first.recv_type("subscribed")
    post_events(live.a, school, activity("amy", "r-0"))
    last_id = first.recv_type("activity")["id"]
    first.close()
    for i in range(1, 4):
        post_events(live.b, school, activity("amy", f"r-{i}"))
    second = Socket(live.b, "/ws", token=token(school["amy"]))
    second.recv()
    second.send({"type": "subscribe", "channel": "learner:amy", "last_id": last_id})
    post_events(live.a, school, activity("amy", "r-4"))
    ids = []
    while len(ids) < 4:
        message = second.recv()
        if message["type"] == "activity":
            ids.append(message["data"]["events"][0]["id"])
    assert ids == ["r-1", "r-2", "r-3", "r-4"]
    assert not [m for m in second.fence() if m["type"] == "activity"], "nothing is delivered twice"
    second.close()

    # A named endpoint resumes through ?last_id= and tells the client to refetch when the gap is gone.
    resumed = Socket(live.a, "/ws/activity/", token=token(school["amy"]), last_id=last_id)
    resumed.recv()
    assert [m["data"]["events"][0]["id"] for m in resumed.fence() if m["type"] == "activity"] == [
        "r-1",
        "r-2",
        "r-3",
        "r-4",
    ]
    resumed.close()
    too_old = Socket(live.a, "/ws/activity/", token=token(school["amy"]), last_id="1-0")
    too_old.recv()
    resync = too_old.recv()
    assert resync["type"] == "resync" and resync["channel"] == "learner:amy"
    too_old.close()


def test_server_closes_a_client_that_stops_answering_pings(live, school):
    raw = socket.create_connection(("127.0.0.1", int(live.a.rsplit(":", 1)[1])))
    raw.sendall(
        f"GET /ws/alerts/?token={token(school['amy'])} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    started = time.monotonic()
    raw.settimeout(15)
    received = b""
    while chunk := raw.recv(65536):  # read (never answer) until the server hangs up
        received += chunk
    assert b"101 Switching Protocols" in received
    assert 2 <= time.monotonic() - started < 10, "closed after two unanswered ping intervals (2 s each)"
    raw.close()


def test_a_slow_client_is_dropped_without_delaying_a_fast_one(live, school):
    port = int(live.a.rsplit(":", 1)[1])
    slow = socket.create_connection(("127.0.0.1", port))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.sendall(
        f"GET /ws/activity/?token={token(school['root'])} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    fast = Socket(live.a, "/ws/activity/", token=token(school["root"]))
    fast.recv()
    time.sleep(0.3)
    count, padding = 400, "x" * 20_000
    started = time.monotonic()
    publish(live.redis(), [("activity", "admin", {"n": i, "padding": padding}) for i in range(count)])
    numbers = [fast.recv_type("activity")["data"]["n"] for _ in range(count)]
    elapsed = time.monotonic() - started
    assert numbers == list(range(count))
    assert elapsed < 5, f"the fast client took {elapsed:.1f}s"
    wait_until(lambda: "messages waiting" in live.web_a.output(), 10, "the slow client to be dropped")
    slow.close()
    fast.close()


def test_sockets_survive_a_redis_restart(live, school):
    sockets = [Socket(url, "/ws/activity/", token=token(school["amy"])) for url in (live.a, live.b)]
    for socket_ in sockets:
        socket_.recv()
    live.data.stop()
    time.sleep(1.0)
    live.data.start()
    for socket_ in sockets:  # what was published before each process subscribed again is gone: refetch
        resync = socket_.recv_type("resync", timeout=15)
        assert resync["channel"] == "learner:amy" and "Redis restarted" in resync["data"]["reason"]
    post_events(live.a, school, activity("amy", "after-restart"))
    for socket_ in sockets:
        message = socket_.recv_type("activity", timeout=15)
        assert message["data"]["events"][0]["id"] == "after-restart"
        socket_.send({"type": "ping"})
        assert socket_.recv_type("pong")
        socket_.close()
    status = requests.get(f"{live.a}/health", timeout=5).json()
    assert status["checks"]["redis"]["ok"]


def test_javascript_client_reconnects_with_backoff_and_resumes(live, school):
    served = requests.get(f"{live.a}/static/js/learnpulse.js", timeout=5)
    assert served.status_code == 200 and "javascript" in served.headers["Content-Type"]
    client = NodeClient(live.a, "/ws/activity/", token(school["amy"]))
    try:
        client.wait_for(lambda l: l.get("status") == "open", "open status")
        post_events(live.a, school, activity("amy", "js-1"))
        client.wait_for(lambda l: "js-1" in client.activity_ids(), "js-1")
        client.command("drop")
        reconnecting = client.wait_for(lambda l: l.get("status") == "reconnecting", "reconnecting status")
        assert reconnecting["detail"]["delay"] >= 750, "backs off before reconnecting"
        post_events(live.b, school, activity("amy", "js-2"), activity("amy", "js-3"))
        reopened = client.wait_for(lambda l: l.get("status") == "open", "open again")
        assert reopened["tokensIssued"] == 2, "a fresh token is asked for on every connect"
        post_events(live.a, school, activity("amy", "js-4"))
        client.wait_for(lambda l: "js-4" in client.activity_ids(), "js-4")
        assert client.activity_ids() == ["js-1", "js-2", "js-3", "js-4"], "resumed without loss or repeats"
    finally:
        client.stop()


# --- per-socket limits ---------------------------------------------------------------------------


def test_requests_sent_back_to_back_are_all_answered_then_a_flood_is_closed(live, school):
    """Replies to a client's own messages never count as a slow consumer (the queue holds 50 here);
    past its message budget a socket is told so and closed with 4429, not silently cut."""
    socket_ = Socket(live.a, "/ws", token=token(school["root"]))
    assert socket_.recv()["type"] == "subscribed"
    for n in range(300):
        socket_.send({"type": "subscribe", "channel": 7, "n": n})  # a bad field: answered, the socket stays
    errors = [socket_.recv_type("error") for _ in range(300)]
    assert all(e["data"]["field"] == "channel" for e in errors)
    socket_.send({"type": "ping"})
    assert socket_.recv_type("pong")
    try:
        for _ in range(3000):
            socket_.send({"type": "ping"})
    except ConnectionClosed:
        pass  # closed while still sending: what it said before closing is read below
    code, messages = socket_.closed_with(timeout=30)
    assert code == 4429 and messages[-1]["data"]["code"] == "too_many_messages"


def test_a_burst_of_subscribes_is_one_round_trip_and_the_channel_cap_answers(live, school):
    db.session.add_all([User(external_id=f"many{i}", role="learner") for i in range(505)])
    db.session.commit()
    socket_ = Socket(live.b, "/ws", token=token(school["root"]))
    assert socket_.recv()["type"] == "subscribed"
    started = time.monotonic()
    for i in range(300):
        socket_.send({"type": "subscribe", "channel": f"learner:many{i}"})
    followed: set[str] = set()
    while len(followed) < 300:
        followed |= set(socket_.recv_type("subscribed", timeout=15)["data"]["channels"])
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"300 subscribes took {elapsed:.1f} s"  # one at a time they took ~50 ms each
    time.sleep(1.2)  # the budget refills (50 a second) before the next burst
    for i in range(300, 505):
        socket_.send({"type": "subscribe", "channel": f"learner:many{i}"})
    refusal = socket_.recv_type("error", timeout=15)
    assert refusal["data"]["code"] == "too_many_channels"
    socket_.close()
