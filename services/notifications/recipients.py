"""Who receives alert email: staff who may see the learner, as their email preferences say."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from analytics.alert_types import rules_of_types
from models import SEVERITIES, Enrollment, NotificationPreference, Section, User, db


@dataclass(frozen=True)
class Recipient:
    id: int
    role: str
    name: str | None
    email: str
    delivery: str  # models.EMAIL_DELIVERIES
    min_severity: str
    types: tuple[str, ...] | None  # rule names (type words in the preference are expanded); None: all

    def wants(self, rule: str, severity: str) -> bool:
        """Whether an alert of this rule and severity matches the preferences (not when it is sent)."""
        return SEVERITIES.index(severity) >= SEVERITIES.index(self.min_severity) and (
            self.types is None or rule in self.types
        )


def staff(deliveries: Iterable[str]) -> list[Recipient]:
    """Active educators and admins with an email address whose email delivery is one of these and who
    did not mute notifications (no preferences row: a daily digest of everything)."""
    wanted = set(deliveries)
    rows = db.session.execute(
        sa.select(User.id, User.role, User.name, User.email, NotificationPreference)
        .outerjoin(NotificationPreference, NotificationPreference.user_id == User.id)
        .where(User.role.in_(("educator", "admin")), User.active.is_(True), User.email.is_not(None), User.email != "")
        .order_by(User.id)
    )
    out = []
    for pk, role, name, email, pref in rows:
        delivery = pref.email_delivery if pref is not None else "daily"
        if delivery not in wanted or (pref is not None and pref.muted):
            continue
        types = tuple(rules_of_types(pref.types)) if pref is not None and pref.types is not None else None
        out.append(Recipient(pk, role, name, email, delivery, pref.min_severity if pref else "low", types))
    return out


def educators_of(learner_ids: Iterable[int]) -> dict[int, set[int]]:
    """Learner id -> ids of the educators teaching a section they are enrolled in."""
    out: dict[int, set[int]] = defaultdict(set)
    ids = sorted(set(learner_ids))
    for start in range(0, len(ids), 500):
        for learner, educator in db.session.execute(
            sa.select(Enrollment.learner_id, Section.educator_id)
            .join(Section, Section.id == Enrollment.section_id)
            .where(Enrollment.learner_id.in_(ids[start : start + 500]), Section.educator_id.is_not(None))
        ):
            out[learner].add(educator)
    return out


def sections_of(recipient: Recipient) -> list[Section]:
    """The sections a digest covers: an educator's own, every section with learners for an admin."""
    query = sa.select(Section).order_by(Section.name, Section.id)
    if recipient.role == "educator":
        query = query.where(Section.educator_id == recipient.id)
    else:
        query = query.where(Section.id.in_(sa.select(Enrollment.section_id)))
    return list(db.session.scalars(query))
