"""Daily and weekly digests: per section for educators and admins, per learner for guardians.

A digest tells what changed in its period: alerts opened, learners who recovered (an alert resolved and
none open now), and achievements. Empty digests are not sent. One run per period (a Redis claim), so a
second beat or a redelivered task does not mail everyone twice.
"""

from __future__ import annotations

import smtplib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa

from analytics.alert_types import TYPE_OF_RULE
from models import Alert, Enrollment, GuardianContact, User, db
from services.clients import redis_client
from services.notifications.email import message, render, send
from services.notifications.recipients import Recipient, sections_of, staff

PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
CLAIM_KEY = "learnpulse:lock:digest:{}:{}"
ALERT_RULES = sorted(rule for rule, kind in TYPE_OF_RULE.items() if kind != "achievement")


def _is_achievement(rule: str) -> bool:
    return TYPE_OF_RULE.get(rule) == "achievement"


def changes(learner_ids: list[int], since: datetime, until: datetime) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """Learner id -> {"alerts", "recovered", "achievements"} in [since, until)."""
    out: dict[int, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    if not learner_ids:
        return out
    opened = db.session.scalars(
        sa.select(Alert).where(Alert.learner_id.in_(learner_ids), Alert.created_at >= since, Alert.created_at < until)
    )
    for alert in opened:
        item = {"rule": alert.rule, "title": alert.title, "severity": alert.severity, "message": alert.message}
        out[alert.learner_id]["achievements" if _is_achievement(alert.rule) else "alerts"].append(item)
    resolved = db.session.execute(
        sa.select(Alert.learner_id, Alert.rule, Alert.title).where(
            Alert.learner_id.in_(learner_ids), Alert.resolved_at >= since, Alert.resolved_at < until
        )
    ).all()
    still_open = (
        set(
            db.session.scalars(
                sa.select(Alert.learner_id).where(
                    Alert.learner_id.in_(learner_ids), Alert.status != "resolved", Alert.rule.in_(ALERT_RULES)
                )
            ).all()
        )
        if resolved
        else set()
    )  # an open achievement does not keep a learner from having recovered
    for learner, rule, title in resolved:
        if not _is_achievement(rule) and learner not in still_open:
            out[learner]["recovered"].append({"rule": rule, "title": title})
    return out


def _filtered(items: dict[str, list[dict[str, Any]]], recipient: Recipient) -> dict[str, list[dict[str, Any]]]:
    alerts = [a for a in items.get("alerts", []) if recipient.wants(a["rule"], a["severity"])]
    return {"alerts": alerts, "recovered": items.get("recovered", []), "achievements": items.get("achievements", [])}


def educator_digest(recipient: Recipient, kind: str, since: datetime, until: datetime) -> EmailMessage | None:
    """The digest of every section the recipient covers, or None when nothing happened."""
    sections = sections_of(recipient)
    enrolled: dict[int, list[tuple[int, str, str | None]]] = defaultdict(list)
    for section, learner, ext, name in db.session.execute(
        sa.select(Enrollment.section_id, User.id, User.external_id, User.name)
        .join(User, User.id == Enrollment.learner_id)
        .where(Enrollment.section_id.in_([s.id for s in sections]))
        .order_by(User.name, User.external_id)
    ):
        enrolled[section].append((learner, ext, name))
    found = changes(sorted({learner for rows in enrolled.values() for learner, _, _ in rows}), since, until)
    blocks = []
    for section in sections:
        learners = [
            {"learner": name or ext, "learner_id": ext, **_filtered(found[learner], recipient)}
            for learner, ext, name in enrolled[section.id]
            if learner in found
        ]
        learners = [row for row in learners if row["alerts"] or row["recovered"] or row["achievements"]]
        if learners:
            blocks.append({"name": section.name, "external_id": section.external_id, "learners": learners})
    if not blocks:
        return None
    text, html = render("educator_digest", recipient=recipient, kind=kind, since=since, until=until, sections=blocks)
    return message(recipient.email, f"LearnPulse {kind} digest: {len(blocks)} section(s)", text, html)


def guardian_digests(kind: str, since: datetime, until: datetime) -> list[EmailMessage]:
    """Each guardian's digest of their one learner: alerts, recovery, achievements; nothing else."""
    contacts = db.session.execute(
        sa.select(GuardianContact, User.name, User.external_id)
        .join(User, User.id == GuardianContact.learner_id)
        .where(GuardianContact.digest == kind, User.active.is_(True))
        .order_by(GuardianContact.id)
    ).all()
    found = changes(sorted({contact.learner_id for contact, _, _ in contacts}), since, until)
    out = []
    for contact, name, ext in contacts:
        items = found.get(contact.learner_id)
        if not items:
            continue
        learner = name or ext
        text, html = render("guardian_digest", guardian=contact, learner=learner, kind=kind, items=items)
        out.append(message(contact.email, f"LearnPulse {kind} summary for {learner}", text, html))
    return out


def _claim_key(kind: str, now: datetime) -> tuple[str, int]:
    seconds = int(PERIODS[kind].total_seconds())
    return CLAIM_KEY.format(kind, int(now.timestamp()) // seconds), seconds


def claim_period(kind: str, now: datetime) -> bool:
    """True for the first run in this period."""
    key, seconds = _claim_key(kind, now)
    return bool(redis_client().set(key, "1", nx=True, ex=2 * seconds))


def release_period(kind: str, now: datetime) -> None:
    redis_client().delete(_claim_key(kind, now)[0])


def send_digests(kind: str, now: datetime | None = None) -> dict[str, int]:
    """Build and send this period's educator and guardian digests (once per period)."""
    now = now or datetime.now(UTC)
    if not claim_period(kind, now):
        return {"skipped": 1}
    since = now - PERIODS[kind]
    try:
        educators = [m for r in staff((kind,)) if (m := educator_digest(r, kind, since, now)) is not None]
        guardians = guardian_digests(kind, since, now)
        send(educators + guardians)
    except (smtplib.SMTPException, OSError):
        release_period(kind, now)  # the retry may run it again
        raise
    return {"educators": len(educators), "guardians": len(guardians)}
