"""The one hand-over from live publishing to notifications out: called by the publisher after commit.

It decides cheaply (one query over the enabled endpoints' event lists) whether anything is wanted, and
if so hands the messages to the worker: webhook fan-out and immediate alert emails are Celery tasks, so
neither a request nor an evaluation ever waits on a receiver or an SMTP server.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import redis
import sqlalchemy as sa
from celery import current_app as current_celery
from flask import current_app, has_app_context
from kombu.exceptions import KombuError

from analytics.alert_types import TYPE_OF_RULE
from models import WebhookEndpoint, db

log = logging.getLogger(__name__)

SOURCE_TYPES = ("alert", "alert_resolved", "grade_update", "attendance_update", "exam_created")
CHUNK = 500  # messages per fan-out task


def webhook_event(kind: str, data: dict[str, Any]) -> str | None:
    """The webhook event a published message is, or None: achievements are alerts of achievement rules;
    an achievement that lapses is not news."""
    if kind not in SOURCE_TYPES:
        return None
    achievement = TYPE_OF_RULE.get(str(data.get("rule"))) == "achievement"
    if kind == "alert":
        return "achievement" if achievement else "alert"
    if kind == "alert_resolved" and achievement:
        return None
    return kind


def _distinct(messages: Iterable[tuple[str, Any, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """(event, data) once per message (a message names its channels; the data object may be shared)."""
    seen: dict[int, tuple[str, dict[str, Any]]] = {}
    for kind, _, data in messages:
        event = webhook_event(kind, data)
        if event is not None and id(data) not in seen and (data.get("learner") or kind == "exam_created"):
            seen[id(data)] = (event, data)
    return list(seen.values())


def wanted_events() -> set[str]:
    """The events some enabled webhook endpoint asked for."""
    lists = db.session.scalars(sa.select(WebhookEndpoint.events).where(WebhookEndpoint.enabled.is_(True)))
    return {event for events in lists for event in events or ()}


def _queue(messages: list[tuple[str, Any, dict[str, Any]]]) -> None:
    events = _distinct(messages)
    if not events:
        return
    wanted = wanted_events()
    batch = [[event, data] for event, data in events if event in wanted]
    for start in range(0, len(batch), CHUNK):
        current_celery.send_task("learnpulse.webhooks.fan_out", args=[batch[start : start + CHUNK]])
    alert_ids = [data["id"] for event, data in events if event == "alert" and isinstance(data.get("id"), int)]
    if alert_ids and current_app.config.get("SMTP_URL"):
        for start in range(0, len(alert_ids), CHUNK):
            current_celery.send_task("learnpulse.notifications.alert_emails", args=[alert_ids[start : start + CHUNK]])


def queue_notifications(messages: list[tuple[str, Any, dict[str, Any]]]) -> None:
    """Queue webhook deliveries and immediate emails for published messages. Like publishing, failures
    are logged, never raised: the data is committed, and a lost notification must not fail the caller."""
    if not has_app_context():
        return
    try:
        _queue(messages)
    except (sa.exc.SQLAlchemyError, redis.RedisError, KombuError) as exc:
        db.session.rollback()
        log.warning("could not queue notifications for %d message(s): %s", len(messages), exc)
