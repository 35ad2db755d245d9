"""Delivery attempts against a real HTTP receiver (no worker: the task's one call), the outbox's event
mapping, who gets the immediate alert email, and the delivery log's cleanup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import Alert, Enrollment, NotificationPreference, Section, WebhookDelivery, WebhookEndpoint, db
from services.notifications.alert_email import alert_emails
from services.notifications.delivery import attempt, forget_old, overdue
from services.notifications.outbox import webhook_event
from services.notifications.signing import SIGNATURE_HEADER, verify
from tests.conftest import create_user
from tests.notification_servers import bodies, pending_delivery


def test_outbox_event_mapping():
    assert webhook_event("alert", {"rule": "performance_decline"}) == "alert"
    assert webhook_event("alert", {"rule": "high_performance"}) == "achievement"
    assert webhook_event("alert_resolved", {"rule": "performance_decline"}) == "alert_resolved"
    assert webhook_event("alert_resolved", {"rule": "streak_milestone"}) is None, "a lapsed achievement is not news"
    assert webhook_event("grade_update", {}) == "grade_update"
    assert webhook_event("metrics_update", {}) is None and webhook_event("activity", {}) is None


def test_a_slow_receiver_times_out_and_is_retried_later(make_app, receiver):
    server, base = receiver
    server.slow["/slow"] = 2.0
    app = make_app(WEBHOOK_TIMEOUT=0.5, WEBHOOK_RETRY_BASE_SECONDS=60.0)
    with app.app_context():
        delivery = pending_delivery(f"{base}/slow")
        assert attempt(delivery.id) == 60.0
        db.session.refresh(delivery)
        assert delivery.status == "pending" and delivery.attempts == 1 and delivery.response_status is None
        assert delivery.last_error.startswith("ReadTimeout")
        assert delivery.next_attempt_at > datetime.now(UTC) + timedelta(seconds=50)
        assert attempt(delivery.id) is None, "not due yet: a second copy of the task does nothing"
        assert server.at("/slow") and len(server.at("/slow")) == 1
        hit = server.at("/slow")[0]
        assert verify("whsec_t", hit.headers[SIGNATURE_HEADER], hit.body)


def test_a_refused_connection_is_a_failed_attempt_and_the_last_one_fails_the_delivery(make_app):
    app = make_app(WEBHOOK_MAX_ATTEMPTS=1)
    with app.app_context():
        delivery = pending_delivery("http://127.0.0.1:9/nothing-listens")
        assert attempt(delivery.id) is None
        db.session.refresh(delivery)
        assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 1, None)
        assert delivery.last_error.startswith("ConnectionError")
        assert db.session.get(WebhookEndpoint, delivery.endpoint_id).consecutive_failures == 1


def test_overdue_and_old_deliveries(app):
    delivery = pending_delivery("http://127.0.0.1:9/")
    long_ago = datetime.now(UTC) - timedelta(days=40)
    delivery.created_at = long_ago
    db.session.commit()
    assert overdue() == [delivery.id], "pending and never tried for minutes: its task was lost"
    done = WebhookDelivery(
        endpoint_id=delivery.endpoint_id, event="alert", body="{}", status="delivered", created_at=long_ago
    )
    fresh = WebhookDelivery(endpoint_id=delivery.endpoint_id, event="alert", body="{}", status="failed")
    db.session.add_all([done, fresh])
    db.session.commit()
    assert forget_old(30) == 1
    assert {d.id for d in db.session.scalars(db.select(WebhookDelivery))} == {delivery.id, fresh.id}


def test_who_gets_the_immediate_alert_email(make_app):
    app = make_app(MAIL_FROM="lp@school.example")
    with app.app_context():
        people = {
            name: create_user(name, role, name=name.title())
            for name, role in (
                ("bea", "learner"),
                ("cal", "learner"),
                ("ed", "educator"),
                ("eve", "educator"),
                ("root", "admin"),
                ("dan", "admin"),
                ("mo", "educator"),
            )
        }
        for name in ("ed", "eve", "root", "mo"):
            people[name].email = f"{name}@school.example"  # dan has no address
        s1 = Section(external_id="S1", name="S1", educator_id=people["ed"].id)
        s2 = Section(external_id="S2", name="S2", educator_id=people["eve"].id)
        s3 = Section(external_id="S3", name="S3", educator_id=people["mo"].id)
        db.session.add_all([s1, s2, s3])
        db.session.flush()
        db.session.add_all(
            [
                Enrollment(section_id=s1.id, learner_id=people["bea"].id),
                Enrollment(section_id=s2.id, learner_id=people["cal"].id),
                Enrollment(section_id=s3.id, learner_id=people["bea"].id),
            ]
        )
        db.session.add_all(
            [
                NotificationPreference(
                    user_id=people["ed"].id,
                    email_delivery="immediately",
                    min_severity="medium",
                    types=None,
                    muted=False,
                ),
                NotificationPreference(
                    user_id=people["eve"].id, email_delivery="never", min_severity="low", types=None, muted=False
                ),
                NotificationPreference(
                    user_id=people["mo"].id, email_delivery="daily", min_severity="low", types=None, muted=True
                ),
            ]
        )
        alerts = [
            Alert(
                learner_id=people[who].id,
                rule=rule,
                severity=severity,
                title=title,
                message=f"{title}.",
                factors={},
                recommendations=["Talk to them"],
            )
            for who, rule, severity, title in (
                ("bea", "performance_decline", "high", "Low scores"),
                ("bea", "engagement_drop", "medium", "Quiet"),
                ("bea", "low_consistency", "low", "Patchy"),
                ("bea", "high_performance", "high", "Top marks"),
                ("cal", "engagement_drop", "medium", "Cal quiet"),
            )
        ]
        db.session.add_all(alerts)
        db.session.commit()
        mails = {m["To"]: bodies(m)[0] for m in alert_emails([a.id for a in alerts])}
        assert set(mails) == {"ed@school.example", "root@school.example"}, "eve: never; mo: muted; dan: no address"
        assert (
            "[HIGH] Low scores: Bea (bea)" in mails["ed@school.example"]
            and "[MEDIUM] Quiet" in mails["ed@school.example"]
        )
        assert "Patchy" not in mails["ed@school.example"], "below ed's minimum severity"
        assert "Cal" not in mails["ed@school.example"], "not ed's learner"
        assert "Top marks" not in mails["ed@school.example"], "achievements are not alerts"
        assert "* Talk to them" in mails["ed@school.example"]
        assert "[HIGH] Low scores" in mails["root@school.example"] and "Quiet" not in mails["root@school.example"], (
            "on the daily digest, only high alerts come at once"
        )


def test_email_preferences_take_alert_types_beside_rule_names(app):
    """A preference of type words (the brief's performance, engagement, ...) covers every rule of that type."""
    from services.notifications.recipients import staff

    people = {name: create_user(name, "educator", name=name) for name in ("ty", "ru", "al")}
    for name, types in (("ty", ["engagement", "system"]), ("ru", ["at_risk", "performance"]), ("al", ["all"])):
        people[name].email = f"{name}@school.example"
        db.session.add(
            NotificationPreference(
                user_id=people[name].id, email_delivery="daily", min_severity="low", types=types, muted=False
            )
        )
    db.session.commit()
    wanted = {r.name: r for r in staff(("daily",))}
    ty, ru, al = wanted["ty"], wanted["ru"], wanted["al"]
    assert ty.wants("engagement_drop", "low") and ty.wants("low_consistency", "low")
    assert ty.wants("account_inactive", "low")
    assert not ty.wants("performance_decline", "high") and not ty.wants("streak_milestone", "high")
    assert ru.wants("declining_trend", "low") and ru.wants("at_risk", "low") and not ru.wants("engagement_drop", "high")
    assert al.wants("engagement_drop", "low") and al.wants("high_performance", "low")
