"""Webhook endpoints and guardians over the API (fresh app per test, no worker), signatures, fan-out scope."""

from __future__ import annotations

import pytest

from models import WebhookDelivery, WebhookEndpoint, db
from services.notifications.signing import signature_header, verify
from services.notifications.webhooks import fan_out
from tests.conftest import bearer
from tests.schools import PEOPLE, SectionPlan, build_school


@pytest.fixture
def school(app):
    """amy in S1 (course C1, taught by ed); cal in S2 (course C2, taught by eve)."""
    people = [person for person in PEOPLE if person[0] != "bea"]
    sections = [
        SectionPlan("S1", "S1", "ed", ("amy",), course=("C1", "One")),
        SectionPlan("S2", "S2", "eve", ("cal",), course=("C2", "Two")),
    ]
    return {name: bearer(user) for name, user in build_school(people, sections).items()}


def register(client, headers, **body):
    return client.post(
        "/api/v1/webhooks", json={"url": "https://hooks.example.org/in", "events": ["alert"], **body}, headers=headers
    )


def test_signature_verifies_and_refuses_tampering_wrong_secrets_and_replays():
    body = b'{"type":"alert"}'
    header = signature_header("whsec_a", body, timestamp=1_000_000)
    assert verify("whsec_a", header, body, now=1_000_010)
    assert not verify("whsec_a", header, body + b" ", now=1_000_010)
    assert not verify("whsec_b", header, body, now=1_000_010)
    assert not verify("whsec_a", header, body, now=1_000_000 + 301)  # too old: a replay
    assert not verify("whsec_a", "v1=abc", body, now=1_000_000)
    assert not verify("whsec_a", "t=x,v1=" + header.split("v1=")[1], body, now=1_000_000)


def test_who_may_register_and_see_webhooks(client, school):
    assert register(client, school["amy"]).status_code == 403  # learners cannot register
    assert register(client, school["ed"]).status_code == 403  # educators must scope to a section...
    refused = register(client, school["ed"], section="S2")  # ...that they teach
    assert refused.status_code == 403 and refused.json["error"]["details"][0]["path"] == "section"
    assert register(client, school["ed"], course="C1").status_code == 403
    mine = register(client, school["ed"], section="S1", events=["alert", "achievement", "alert"])
    assert mine.status_code == 201, mine.json
    assert mine.json["secret"].startswith("whsec_") and mine.json["events"] == ["alert", "achievement"]
    assert mine.json["section"] == "S1" and mine.json["enabled"] is True
    service = register(client, school["lms"], course="C2")
    assert service.status_code == 201 and service.json["course"] == "C2"
    listed = client.get("/api/v1/webhooks", headers=school["ed"]).json["webhooks"]
    assert [w["id"] for w in listed] == [mine.json["id"]] and "secret" not in listed[0]
    assert client.get(f"/api/v1/webhooks/{mine.json['id']}", headers=school["eve"]).status_code == 404
    assert client.get(f"/api/v1/webhooks/{service.json['id']}", headers=school["ed"]).status_code == 404
    everything = client.get("/api/v1/webhooks", headers=school["root"]).json["webhooks"]
    assert {w["id"] for w in everything} == {mine.json["id"], service.json["id"]}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"url": "ftp://hooks.example.org/in"}, "url"),
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "http://"}, "url"),
        ({"url": "https://user:pw@hooks.example.org/"}, "url"),
        ({"url": "https://hooks.example.org:99999/"}, "url"),
        ({"events": []}, "events"),
        ({"events": ["gossip"]}, "events"),
        ({"events": "alert"}, "events"),
        ({"section": "S1", "course": "C1"}, "course"),
        ({"section": "nope"}, "section"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_registrations_name_the_field(client, school, body, path):
    response = register(client, school["root"], **body)
    assert response.status_code == 422, response.json
    assert path in [d["path"] for d in response.json["error"]["details"]]


def test_change_rotate_disable_test_and_delete(client, school):
    created = register(client, school["lms"]).json
    hook = f"/api/v1/webhooks/{created['id']}"
    rotated = client.post(f"{hook}/rotate-secret", headers=school["lms"]).json["secret"]
    assert rotated != created["secret"] and db.session.get(WebhookEndpoint, created["id"]).secret == rotated
    changed = client.patch(hook, json={"events": ["grade_update"], "enabled": False}, headers=school["lms"]).json
    assert (
        changed["events"] == ["grade_update"]
        and not changed["enabled"]
        and changed["disabled_reason"] == "disabled by lms"
    )
    assert client.post(f"{hook}/test", headers=school["lms"]).status_code == 409
    enabled = client.patch(hook, json={"enabled": True}, headers=school["lms"]).json
    assert enabled["enabled"] and enabled["disabled_reason"] is None and enabled["consecutive_failures"] == 0
    queued = client.post(f"{hook}/test", headers=school["lms"])
    assert queued.status_code == 202 and queued.json["delivery"]["event"] == "ping"
    deliveries = client.get(f"{hook}/deliveries?status=pending", headers=school["lms"]).json["deliveries"]
    assert [d["id"] for d in deliveries] == [queued.json["delivery"]["id"]]
    assert client.get(f"{hook}/deliveries?status=lost", headers=school["lms"]).status_code == 400
    assert client.patch(hook, json={"url": "gopher://x"}, headers=school["lms"]).status_code == 422
    assert client.delete(hook, headers=school["eve"]).status_code == 404
    assert client.delete(hook, headers=school["lms"]).status_code == 204
    assert client.get(hook, headers=school["lms"]).status_code == 404


def test_fan_out_follows_scope_events_and_what_the_owner_may_see(client, school):
    ids = {
        name: register(client, school[who], **scope).json["id"]
        for name, who, scope in (
            ("ed_s1", "ed", {"section": "S1", "events": ["alert", "exam_created"]}),
            ("eve_s2", "eve", {"section": "S2", "events": ["alert", "exam_created"]}),
            ("admin_c1", "root", {"course": "C1", "events": ["alert", "grade_update"]}),
            ("service_all", "lms", {"events": ["alert", "exam_created", "achievement"]}),
        )
    }
    fan_out(
        [
            ["alert", {"id": 1, "learner": "amy", "rule": "performance_decline"}],
            ["grade_update", {"learner": "cal", "exam": "X", "marks": 4}],
            ["exam_created", {"exam": "X2", "section": "S2"}],
            ["exam_created", {"exam": "X3", "section": None}],
            ["achievement", {"id": 2, "learner": "cal", "rule": "high_performance"}],
        ]
    )
    got = {(d.endpoint_id, d.event) for d in db.session.scalars(db.select(WebhookDelivery))}
    assert got == {
        (ids["ed_s1"], "alert"),
        (ids["admin_c1"], "alert"),
        (ids["service_all"], "alert"),
        (ids["eve_s2"], "exam_created"),
        (ids["service_all"], "exam_created"),  # X2 and X3 (no section: unscoped admins and services only)
        (ids["service_all"], "achievement"),
    }
    assert len([d for d in db.session.scalars(db.select(WebhookDelivery)) if d.event == "exam_created"]) == 3


def test_guardians_are_set_by_the_service_or_an_admin(client, school):
    url = "/api/v1/learners/amy/guardians"
    body = {"guardians": [{"email": "pat@example.org", "name": "Pat", "digest": "daily"}, {"email": "sam@example.org"}]}
    assert client.put(url, json=body, headers=school["ed"]).status_code == 403
    assert client.put(url, json=body, headers=school["amy"]).status_code == 403
    saved = client.put(url, json=body, headers=school["lms"])
    assert saved.status_code == 200, saved.json
    assert saved.json["guardians"] == [
        {"name": "Pat", "email": "pat@example.org", "digest": "daily"},
        {"name": None, "email": "sam@example.org", "digest": "weekly"},
    ]
    assert client.get(url, headers=school["root"]).json == saved.json
    assert client.get("/api/v1/learners/ed/guardians", headers=school["root"]).status_code == 404
    assert client.get("/api/v1/learners/ghost/guardians", headers=school["root"]).status_code == 404
    bad = client.put(
        url,
        json={"guardians": [{"email": "not-an-address"}, {"email": "x@y.org", "digest": "hourly"}]},
        headers=school["lms"],
    )
    assert bad.status_code == 422
    assert {d["path"] for d in bad.json["error"]["details"]} == {"guardians[0].email", "guardians[1].digest"}
    twice = client.put(url, json={"guardians": [{"email": "a@b.org"}, {"email": "A@b.org"}]}, headers=school["lms"])
    assert twice.status_code == 422 and twice.json["error"]["details"][0]["path"] == "guardians[1].email"
    assert client.put(url, json={"guardians": []}, headers=school["lms"]).json["guardians"] == []


def test_email_delivery_is_a_notification_preference(client, school):
    assert client.get("/api/v1/alerts/preferences", headers=school["ed"]).json["email_delivery"] == "daily"
    changed = client.put("/api/v1/alerts/preferences", json={"email_delivery": "immediately"}, headers=school["ed"])
    assert changed.status_code == 200 and changed.json["email_delivery"] == "immediately"
    assert client.get("/api/v1/alerts/preferences", headers=school["ed"]).json["email_delivery"] == "immediately"
    bad = client.put("/api/v1/alerts/preferences", json={"email_delivery": "hourly"}, headers=school["ed"])
    assert bad.status_code == 422 and bad.json["error"]["details"][0]["path"] == "email_delivery"
