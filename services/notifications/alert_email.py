"""The immediate email: sent when alerts open, to staff who want every alert at once, and to everyone
on a digest for high-severity ones (unless they chose `never` or muted notifications)."""

from __future__ import annotations

from email.message import EmailMessage

import sqlalchemy as sa

from analytics.alert_types import TYPE_OF_RULE
from models import Alert, User, db
from services.notifications.email import message, render, send
from services.notifications.recipients import Recipient, educators_of, staff

URGENT = "high"


def _urgent_for(recipient: Recipient, alert: Alert) -> bool:
    return recipient.wants(alert.rule, alert.severity) and (
        recipient.delivery == "immediately" or alert.severity == URGENT
    )


def alert_emails(alert_ids: list[int]) -> list[EmailMessage]:
    """One email per recipient listing the alerts of this batch they should hear about now."""
    rows = db.session.execute(
        sa.select(Alert, User.external_id, User.name)
        .join(User, User.id == Alert.learner_id)
        .where(Alert.id.in_(alert_ids), Alert.status != "resolved")
        .order_by(Alert.id)
    ).all()
    alerts = [(alert, ext, name) for alert, ext, name in rows if TYPE_OF_RULE.get(alert.rule) != "achievement"]
    if not alerts:
        return []
    teachers = educators_of(alert.learner_id for alert, _, _ in alerts)
    out = []
    for recipient in staff(("immediately", "daily", "weekly")):
        mine = [
            {
                "learner": name or ext,
                "learner_id": ext,
                "title": a.title,
                "severity": a.severity,
                "message": a.message,
                "recommendations": a.recommendations,
            }
            for a, ext, name in alerts
            if (recipient.role == "admin" or recipient.id in teachers.get(a.learner_id, ()))
            and _urgent_for(recipient, a)
        ]
        if mine:
            subject = (
                f"LearnPulse: {mine[0]['title']} ({mine[0]['learner']})"
                if len(mine) == 1
                else (f"LearnPulse: {len(mine)} new alerts")
            )
            text, html = render("alert_email", recipient=recipient, alerts=mine)
            out.append(message(recipient.email, subject, text, html))
    return out


def send_alert_emails(alert_ids: list[int]) -> int:
    """Build and send the immediate emails for these new alerts; returns how many went out."""
    return send(alert_emails(alert_ids))
