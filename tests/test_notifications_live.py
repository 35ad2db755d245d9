"""Notifications out end to end: gunicorn and a Celery worker as processes, a real SMTP server (aiosmtpd) and a
real HTTP receiver. Alerts, exams and grades reach signed webhooks scoped by the access rules; failing receivers
are retried with backoff, redirects are not followed, dead endpoints are disabled; high alerts are emailed at
once; the daily and weekly digests reach educators, admins and guardians with the right content."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import requests
from celery import Celery

from models import Alert, User, db
from services.notifications.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, verify
from tests.conftest import SECRET, bearer
from tests.notification_servers import Inbox, Receiver, bodies, start_smtp
from tests.processes import (
    NOTIFICATIONS_DB,
    service_env,
    sibling_database,
    start_web,
    start_worker,
    stopped_after,
    wait_for_worker,
    wait_until,
)
from tests.schools import NAMED_PEOPLE, build_school, two_sections

pytestmark = pytest.mark.integration
RETRY_BASE = 0.4  # seconds: WEBHOOK_RETRY_BASE_SECONDS of the live worker
DISABLE_AFTER = 3


@dataclass
class Live:
    url: str
    hooks: str  # the receiver's base URL
    receiver: Receiver
    inbox: Inbox
    celery: Celery  # sends tasks to this module's worker, as beat would


@pytest.fixture(scope="module")
def live(migrated: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    log_dir: Path = tmp_path_factory.mktemp("notify-logs")
    inbox, receiver = Inbox(), Receiver()
    smtp, port = start_smtp(inbox)
    hooks = receiver.start()
    broker = sibling_database(redis_url, NOTIFICATIONS_DB)
    redis.Redis.from_url(broker).flushdb()
    env = service_env(
        migrated,
        redis_url,
        SECRET,
        CELERY_BROKER_URL=broker,
        SMTP_URL=f"smtp://127.0.0.1:{port}",
        MAIL_FROM="LearnPulse <alerts@school.example>",
        WEBHOOK_RETRY_BASE_SECONDS=str(RETRY_BASE),
        WEBHOOK_DISABLE_AFTER=str(DISABLE_AFTER),
        WEBHOOK_MAX_ATTEMPTS="5",
        WEBHOOK_TIMEOUT="3",
        WEBHOOK_ALLOW_PRIVATE="1",  # the receiver listens on 127.0.0.1
    )
    worker = start_worker(env, log_dir, name="notify-worker")
    web, url = start_web(env, log_dir, "notify-web", processes=1)
    celery = Celery("notify-tests", broker=broker)
    try:
        with stopped_after(web, worker):
            wait_for_worker(url, "web and worker")
            yield Live(url, hooks, receiver, inbox, celery)
    finally:
        smtp.stop()
        receiver.stop()
        redis.Redis.from_url(broker).flushdb()


@pytest.fixture
def school(app, live):
    """amy and bea in S1 taught by ed; cal in S2 taught by eve; an admin; the LMS service. Staff have emails."""
    live.inbox.clear()
    emails = {name: f"{name}@school.example" for name in ("ed", "eve", "root")}
    return build_school(NAMED_PEOPLE, two_sections("Algebra", "Biology"), emails)


def hook(live: Live, headers: dict, path: str, **body) -> dict:
    response = requests.post(
        f"{live.url}/api/v1/webhooks", json={"url": f"{live.hooks}{path}", **body}, headers=headers, timeout=5
    )
    assert response.status_code == 201, response.text
    return response.json()


def messages(live: Live, path: str, secret: str) -> list[dict]:
    """Bodies received at `path`, each checked against its signature first."""
    hits = live.receiver.at(path)
    for hit in hits:
        assert verify(secret, hit.headers[SIGNATURE_HEADER], hit.body), f"bad signature on {hit.headers}"
    return [json.loads(hit.body) for hit in hits]


def low_scores(learner: str) -> list[dict]:
    return [
        {
            "id": f"{learner}-low-{i}",
            "learner": learner,
            "kind": "assessment",
            "score": 3,
            "max_score": 100,
            "occurred_at": f"2026-01-0{i + 1}T10:00:00Z",
        }
        for i in range(3)
    ]


def test_alerts_exams_and_grades_reach_signed_webhooks_by_scope_and_high_alerts_are_emailed(live, school):
    service = hook(live, bearer(school["lms"]), "/all", events=["alert", "grade_update", "exam_created"])
    mine = hook(live, bearer(school["ed"]), "/ed", events=["alert", "exam_created"], section="S1")
    other = hook(live, bearer(school["eve"]), "/eve", events=["alert", "exam_created", "grade_update"], section="S2")
    lms = bearer(school["lms"])
    posted = requests.post(f"{live.url}/api/v1/events", json={"events": low_scores("bea")}, headers=lms, timeout=10)
    assert posted.status_code == 201, posted.text
    exam = requests.put(
        f"{live.url}/api/v1/exams/X1",
        json={"title": "Midterm", "max_marks": 50, "section": "S1"},
        headers=lms,
        timeout=5,
    )
    assert exam.status_code == 201, exam.text
    grades = requests.post(
        f"{live.url}/api/v1/exams/X1/grades", json={"grades": [{"learner": "amy", "marks": 41}]}, headers=lms, timeout=5
    )
    assert grades.status_code == 201, grades.text

    def types(path: str, secret: str) -> set[str]:
        return {m["type"] for m in messages(live, path, secret)}

    wait_until(lambda: types("/all", service["secret"]) == {"alert", "exam_created", "grade_update"}, 30, "/all")
    wait_until(lambda: types("/ed", mine["secret"]) == {"alert", "exam_created"}, 10, "the educator's hook")
    alerts = {m["data"]["rule"]: m for m in messages(live, "/ed", mine["secret"]) if m["type"] == "alert"}
    alert = alerts["performance_decline"]  # bea's three low scores also raise other performance alerts
    assert alert["data"]["learner"] == "bea" and {m["data"]["learner"] for m in alerts.values()} == {"bea"}
    assert alert["data"]["severity"] == "high" and set(alert) == {"id", "type", "created_at", "data"}
    same = [m for m in messages(live, "/all", service["secret"]) if m["data"].get("rule") == "performance_decline"]
    assert [m["id"] for m in same] == [alert["id"]], "one message id for every endpoint that hears it"
    first = live.receiver.at("/ed")[0]
    assert first.headers[EVENT_HEADER] in ("alert", "exam_created") and first.headers[DELIVERY_HEADER].isdigit()
    assert not verify(other["secret"], first.headers[SIGNATURE_HEADER], first.body), "signed with its own secret"
    grade = next(m for m in messages(live, "/all", service["secret"]) if m["type"] == "grade_update")
    assert (grade["data"]["learner"], grade["data"]["marks"]) == ("amy", 41)

    mail = wait_until(lambda: live.inbox.to("ed@school.example"), 20, "the immediate email to ed")
    text, html = bodies(mail[0])
    assert mail[0]["Subject"].startswith("LearnPulse: ") and mail[0]["From"] == "LearnPulse <alerts@school.example>"
    title = alert["data"]["title"]
    assert f"[HIGH] {title}: Bea (bea)" in text and f"<strong>[HIGH] {title}</strong>: Bea (bea)" in html
    assert "[LOW]" not in text and "[MEDIUM]" not in text, "ed is on the daily digest: only high alerts come at once"
    log = f"{live.url}/api/v1/webhooks/{mine['id']}/deliveries"

    def statuses() -> set[str]:
        return {d["status"] for d in requests.get(log, headers=bearer(school["ed"]), timeout=5).json()["deliveries"]}

    wait_until(lambda: statuses() == {"delivered"}, 10, "every delivery to ed's hook to be recorded as delivered")
    assert live.receiver.at("/eve") == [], "eve teaches S2: nothing about S1's learners or exams"
    assert not live.inbox.to("eve@school.example")
    assert live.inbox.to("root@school.example"), "admins see every learner: the high alert reaches them too"


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(live, school):
    live.receiver.plans["/flaky"] = [500, 503, 204]
    created = hook(live, bearer(school["root"]), "/flaky", events=["alert"])
    headers = bearer(school["root"])
    queued = requests.post(f"{live.url}/api/v1/webhooks/{created['id']}/test", headers=headers, timeout=5)
    assert queued.status_code == 202, queued.text
    url = f"{live.url}/api/v1/webhooks/{created['id']}/deliveries"
    delivery = wait_until(
        lambda: (
            (d := requests.get(url, headers=headers, timeout=5).json()["deliveries"][0])["status"] == "delivered" and d
        ),
        30,
        "the third attempt to succeed",
    )
    assert delivery["attempts"] == 3 and delivery["response_status"] == 204 and delivery["last_error"] is None
    hits = live.receiver.at("/flaky")
    assert len(hits) == 3 and len({hit.headers[DELIVERY_HEADER] for hit in hits}) == 1
    assert [json.loads(hit.body)["type"] for hit in hits] == ["ping"] * 3
    assert all(verify(created["secret"], hit.headers[SIGNATURE_HEADER], hit.body) for hit in hits)
    first_wait, second_wait = hits[1].at - hits[0].at, hits[2].at - hits[1].at
    assert first_wait >= RETRY_BASE * 0.9 and second_wait >= 2 * RETRY_BASE * 0.9, (first_wait, second_wait)
    endpoint = requests.get(f"{live.url}/api/v1/webhooks/{created['id']}", headers=headers, timeout=5).json()
    assert endpoint["enabled"] and endpoint["consecutive_failures"] == 0


def test_redirects_are_not_followed_and_a_dead_endpoint_is_disabled_with_a_reason(live, school):
    live.receiver.plans["/moved"] = [302]
    headers = bearer(school["lms"])
    created = hook(live, headers, "/moved", events=["alert"])
    base = f"{live.url}/api/v1/webhooks/{created['id']}"
    assert requests.post(f"{base}/test", headers=headers, timeout=5).status_code == 202
    endpoint = wait_until(
        lambda: not (e := requests.get(base, headers=headers, timeout=5).json())["enabled"] and e,
        30,
        "the endpoint to be disabled",
    )
    assert (
        endpoint["disabled_reason"]
        == f"{DISABLE_AFTER} consecutive failed deliveries; last: HTTP 302 (redirects are not followed)"
    )
    assert endpoint["consecutive_failures"] == DISABLE_AFTER
    delivery = requests.get(f"{base}/deliveries", headers=headers, timeout=5).json()["deliveries"][0]
    assert (delivery["status"], delivery["attempts"], delivery["response_status"]) == ("failed", DISABLE_AFTER, 302)
    assert len(live.receiver.at("/moved")) == DISABLE_AFTER and live.receiver.at("/followed") == []
    listed = requests.get(f"{live.url}/api/v1/webhooks", headers=bearer(school["root"]), timeout=5).json()["webhooks"]
    assert [w["disabled_reason"] for w in listed] == [endpoint["disabled_reason"]], "admins see why"
    assert requests.post(f"{base}/test", headers=headers, timeout=5).status_code == 409
    live.receiver.plans["/moved"] = [200]
    assert requests.patch(base, json={"enabled": True}, headers=headers, timeout=5).json()["enabled"]
    assert requests.post(f"{base}/test", headers=headers, timeout=5).status_code == 202
    wait_until(lambda: len(live.receiver.at("/moved")) == DISABLE_AFTER + 1, 20, "the re-enabled endpoint's ping")


def _alert(
    learner: User, rule: str, title: str, severity: str, created: datetime, resolved: datetime | None = None
) -> Alert:
    return Alert(
        learner_id=learner.id,
        rule=rule,
        scope_key="global",
        severity=severity,
        status="resolved" if resolved else "open",
        title=title,
        message=f"{title} of {learner.external_id}.",
        factors={},
        recommendations=[],
        created_at=created,
        resolved_at=resolved,
    )


def _digest_history(school: dict) -> None:
    """Within the last day: bea's new alert, amy recovered and earned an achievement, cal's new alert.
    Older: an alert of bea's from last week that is not news today."""
    now = datetime.now(UTC)
    db.session.add_all(
        [
            _alert(school["bea"], "engagement_drop", "Engagement drop", "medium", now - timedelta(hours=3)),
            _alert(
                school["amy"],
                "low_consistency",
                "Low consistency",
                "low",
                now - timedelta(days=3),
                now - timedelta(hours=2),
            ),
            _alert(school["amy"], "high_performance", "High performance", "low", now - timedelta(hours=1)),
            _alert(school["cal"], "completion_stagnation", "Completion stagnation", "medium", now - timedelta(hours=5)),
            _alert(school["bea"], "declining_trend", "Declining trend", "low", now - timedelta(days=5)),
        ]
    )
    db.session.commit()


def test_daily_and_weekly_digests_for_educators_admins_and_guardians(live, school):
    _digest_history(school)
    lms = bearer(school["lms"])
    for learner, digest in (("bea", "daily"), ("cal", "weekly")):
        body = {
            "guardians": [
                {"email": f"parent-of-{learner}@home.example", "name": f"Parent of {learner}", "digest": digest}
            ]
        }
        assert requests.put(f"{live.url}/api/v1/learners/{learner}/guardians", json=body, headers=lms, timeout=5).ok
    for who, delivery in (("eve", "never"), ("root", "weekly")):
        put = requests.put(
            f"{live.url}/api/v1/alerts/preferences",
            json={"email_delivery": delivery},
            headers=bearer(school[who]),
            timeout=5,
        )
        assert put.status_code == 200, put.text

    live.celery.send_task("learnpulse.notifications.digest", args=["daily"])
    wait_until(lambda: live.inbox.to("parent-of-bea@home.example"), 20, "the daily digests")
    live.celery.send_task("learnpulse.notifications.digest", args=["daily"])  # a second beat: no second email
    (ed_mail,) = wait_until(lambda: live.inbox.to("ed@school.example"), 5, "ed's digest")
    text, html = bodies(ed_mail)
    assert ed_mail["Subject"] == "LearnPulse daily digest: 1 section(s)"
    assert "== Algebra (S1) ==" in text and "Biology" not in text and "Cal" not in text
    assert "Bea (bea)\n  New alert [medium]: Engagement drop." in text
    assert "Amy (amy)\n  Recovered: Low consistency resolved\n  Achievement: High performance" in text, text
    assert "Declining trend" not in text, "older than a day"
    assert "<h2>Algebra (S1)</h2>" in html and "[medium] Engagement drop" in html
    (guardian,) = live.inbox.to("parent-of-bea@home.example")
    g_text, g_html = bodies(guardian)
    assert guardian["Subject"] == "LearnPulse daily summary for Bea"
    assert "Engagement drop: Engagement drop of bea." in g_text and "<strong>Bea</strong>" in g_html
    assert "Amy" not in g_text and "amy" not in g_text and "Cal" not in g_text and "Algebra" not in g_text
    assert not live.inbox.to("eve@school.example") and not live.inbox.to("root@school.example")
    assert not live.inbox.to("parent-of-cal@home.example"), "a weekly guardian"

    live.celery.send_task("learnpulse.notifications.digest", args=["weekly"])
    (admin_mail,) = wait_until(lambda: live.inbox.to("root@school.example"), 20, "the admin's weekly digest")
    a_text, _ = bodies(admin_mail)
    assert "== Algebra (S1) ==" in a_text and "== Biology (S2) ==" in a_text and "Declining trend" in a_text
    (cal_guardian,) = wait_until(lambda: live.inbox.to("parent-of-cal@home.example"), 5, "cal's guardian")
    assert "Completion stagnation" in bodies(cal_guardian)[0] and "Bea" not in bodies(cal_guardian)[0]
    assert len(live.inbox.to("ed@school.example")) == 1 and len(live.inbox.to("parent-of-bea@home.example")) == 1
