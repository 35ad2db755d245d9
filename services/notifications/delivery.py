"""Sending one webhook delivery: sign, POST (timeout, no redirects, only to allowed addresses), record, back off,
disable a dead endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests
import sqlalchemy as sa
from flask import current_app

from models import WebhookDelivery, WebhookEndpoint, db
from services.notifications.addresses import BlockedAddress, guarded_session, policy_of
from services.notifications.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature_header
from services.notifications.webhooks import delivery_body

MAX_BACKOFF = 6 * 3600.0  # seconds: the longest wait between two attempts
CLOCK_SLACK = 5.0  # seconds a retry may run before its recorded time (clocks of two processes differ)
CLAIM_SECONDS = 90.0  # an attempt holds its delivery this long beyond the request timeout
USER_AGENT = "LearnPulse-Webhooks/1"


def backoff(attempts: int, base: float) -> float:
    """Seconds before the next attempt after `attempts` failed ones: base, 2 base, 4 base, ..."""
    return min(MAX_BACKOFF, base * 2 ** max(0, attempts - 1))


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str | None]:
    """(status code, error) of one signed POST; an error is None only for a 2xx answer."""
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature_header(endpoint.secret, body),
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.id),
    }
    timeout = current_app.config["WEBHOOK_TIMEOUT"]
    try:
        with guarded_session(policy_of(current_app.config)) as session:
            response = session.post(endpoint.url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
    except BlockedAddress as exc:
        return None, f"BlockedAddress: {exc}"[:1000]
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:1000]
    response.close()
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}" + (
        " (redirects are not followed)" if response.is_redirect else ""
    )


def _count_failure(endpoint: WebhookEndpoint, error: str, now: datetime) -> bool:
    """Add one consecutive failure (atomically); disable the endpoint at the limit. True if now disabled."""
    failures = db.session.execute(
        sa.update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint.id)
        .values(consecutive_failures=WebhookEndpoint.consecutive_failures + 1)
        .returning(WebhookEndpoint.consecutive_failures)
    ).scalar_one()
    limit = current_app.config["WEBHOOK_DISABLE_AFTER"]
    if failures < limit:
        return False
    db.session.execute(
        sa.update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint.id, WebhookEndpoint.enabled.is_(True))
        .values(
            enabled=False, disabled_at=now, disabled_reason=f"{failures} consecutive failed deliveries; last: {error}"
        )
    )
    return True


def _claim(delivery_id: int, now: datetime) -> bool:
    """Take a due pending delivery for one attempt: a second copy of its task (a broker redelivery, the
    overdue sweep) finds it taken and does nothing, so one attempt never becomes two POSTs."""
    hold = now + timedelta(seconds=current_app.config["WEBHOOK_TIMEOUT"] + CLAIM_SECONDS)
    due = sa.or_(
        WebhookDelivery.next_attempt_at.is_(None),
        WebhookDelivery.next_attempt_at <= now + timedelta(seconds=CLOCK_SLACK),
    )
    claimed = db.session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending", due)
        .values(next_attempt_at=hold)
        .returning(WebhookDelivery.id)
    ).all()
    db.session.commit()
    return len(claimed) == 1


def attempt(delivery_id: int) -> float | None:
    """Try a pending delivery once; returns the seconds until the next attempt, or None when done."""
    if not _claim(delivery_id, datetime.now(UTC)):
        return None
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        return None
    endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id)
    now = datetime.now(UTC)
    if endpoint is None or not endpoint.enabled:
        delivery.status, delivery.last_error, delivery.next_attempt_at = "failed", "endpoint disabled", None
        db.session.commit()
        return None
    status, error = _post(endpoint, delivery)
    delivery.attempts += 1
    delivery.response_status, delivery.last_error, delivery.last_attempt_at = status, error, now
    delay = None
    if error is None:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
        db.session.execute(
            sa.update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id).values(consecutive_failures=0)
        )
    elif _count_failure(endpoint, error, now) or delivery.attempts >= current_app.config["WEBHOOK_MAX_ATTEMPTS"]:
        delivery.status, delivery.next_attempt_at = "failed", None
    else:
        delay = backoff(delivery.attempts, current_app.config["WEBHOOK_RETRY_BASE_SECONDS"])
        delivery.next_attempt_at = now + timedelta(seconds=delay)
    db.session.commit()
    return delay


def overdue(grace: float = 120.0, limit: int = 1000) -> list[int]:
    """Pending deliveries whose next attempt is long past (their retry task was lost with a worker)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=grace)
    return list(
        db.session.scalars(
            sa.select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == "pending",
                sa.or_(
                    WebhookDelivery.next_attempt_at <= cutoff,
                    sa.and_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.created_at <= cutoff),
                ),
            )
            .order_by(WebhookDelivery.id)
            .limit(limit)
        )
    )


def forget_old(days: int) -> int:
    """Delete finished deliveries (delivered or failed) older than `days`: the log is for diagnosis, not
    an archive. Pending ones stay whatever their age."""
    cutoff = datetime.now(UTC) - timedelta(days=days)
    old = (
        sa.delete(WebhookDelivery)
        .where(WebhookDelivery.status != "pending", WebhookDelivery.created_at < cutoff)
        .returning(WebhookDelivery.id)
    )
    deleted = len(db.session.execute(old).all())
    db.session.commit()
    return deleted


def ping_delivery(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A pending, signed `ping` delivery for this endpoint (the caller queues it): owners check their
    receiver and its signature check before real messages arrive."""
    body = delivery_body("ping", {"webhook": endpoint.id, "message": "LearnPulse test delivery"})
    delivery = WebhookDelivery(endpoint_id=endpoint.id, event="ping", body=body, status="pending")
    db.session.add(delivery)
    db.session.commit()
    return delivery
