"""Celery tasks of notifications out: webhook fan-out and delivery, immediate alert email, digests."""

from __future__ import annotations

import smtplib
from typing import Any

from celery import shared_task
from flask import current_app

from services.clients import TRANSIENT
from services.notifications.alert_email import send_alert_emails
from services.notifications.delivery import attempt, forget_old, overdue
from services.notifications.digests import send_digests
from services.notifications.webhooks import fan_out

# seconds; below the broker's visibility timeout (celeryconfig.py); a longer wait is left to the overdue sweep
LONGEST_COUNTDOWN = 3000
# An SMTP server down or refusing: try again later (as the database and Redis hiccups every task retries).
MAIL_RETRIES = (*TRANSIENT, smtplib.SMTPException, OSError)


@shared_task(name="learnpulse.webhooks.fan_out", max_retries=5)
def webhooks_fan_out(batch: list[list[Any]]) -> dict[str, int]:
    """Record the deliveries of published messages for the endpoints that hear them, and send each."""
    ids = fan_out(batch)
    for delivery_id in ids:
        deliver_webhook.delay(delivery_id)
    return {"deliveries": len(ids)}


@shared_task(name="learnpulse.webhooks.deliver", max_retries=5)
def deliver_webhook(delivery_id: int) -> dict[str, object]:
    """One attempt; a failed one schedules the next after its backoff (recorded as next_attempt_at)."""
    delay = attempt(delivery_id)
    if delay is not None and delay <= LONGEST_COUNTDOWN:
        deliver_webhook.apply_async((delivery_id,), countdown=delay)
    return {"delivery": delivery_id, "retry_in": delay}


@shared_task(name="learnpulse.webhooks.retry_overdue", max_retries=1)
def retry_overdue_webhooks() -> dict[str, int]:
    """Re-queue deliveries whose retry was lost (its worker died holding the countdown)."""
    ids = overdue()
    for delivery_id in ids:
        deliver_webhook.delay(delivery_id)
    return {"requeued": len(ids)}


@shared_task(name="learnpulse.webhooks.cleanup", max_retries=3)
def webhooks_cleanup() -> dict[str, int]:
    """Weekly: forget finished deliveries older than WEBHOOK_LOG_DAYS."""
    return {"deleted": forget_old(current_app.config["WEBHOOK_LOG_DAYS"])}


@shared_task(name="learnpulse.notifications.alert_emails", autoretry_for=MAIL_RETRIES, retry_backoff=30, max_retries=5)
def alert_emails(alert_ids: list[int]) -> dict[str, int]:
    """The immediate email for alerts that just opened."""
    return {"sent": send_alert_emails(alert_ids)}


@shared_task(name="learnpulse.notifications.digest", autoretry_for=MAIL_RETRIES, retry_backoff=60, max_retries=5)
def digest(kind: str) -> dict[str, int]:
    """The daily or weekly digest of educators, admins and guardians."""
    return send_digests(kind)
