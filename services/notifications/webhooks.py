"""Which endpoints hear about which message: the events they chose, their scope, and what their owner may see."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from models import Enrollment, Section, User, WebhookDelivery, WebhookEndpoint, db
from models.queries import mapping
from services.envelope import now_iso

SEES_EVERYONE = ("admin", "service")
Place = tuple[int, int | None]  # (section id, course id) a message is about


def delivery_body(event: str, data: dict[str, Any], message_id: str | None = None) -> str:
    """The JSON a receiver gets; `id` is the same for every endpoint that hears of one message."""
    return json.dumps(
        {"id": message_id or uuid.uuid4().hex, "type": event, "created_at": now_iso(), "data": data},
        separators=(",", ":"),
    )


def _learner_places(names: Iterable[str]) -> dict[str, set[Place]]:
    """Learner external id -> the sections (with their course) they are enrolled in."""
    places: dict[str, set[Place]] = defaultdict(set)
    wanted = sorted(set(names))
    for start in range(0, len(wanted), 500):
        rows = db.session.execute(
            sa.select(User.external_id, Section.id, Section.course_id)
            .join(Enrollment, Enrollment.learner_id == User.id)
            .join(Section, Section.id == Enrollment.section_id)
            .where(User.external_id.in_(wanted[start : start + 500]))
        )
        for name, section, course in rows:
            places[name].add((section, course))
    return places


def _section_places(names: Iterable[str]) -> dict[str, set[Place]]:
    rows = db.session.execute(
        sa.select(Section.external_id, Section.id, Section.course_id).where(Section.external_id.in_(set(names)))
    )
    return {name: {(section, course)} for name, section, course in rows}


def _taught(educators: Iterable[int]) -> dict[int, set[int]]:
    taught: dict[int, set[int]] = defaultdict(set)
    for educator, section in db.session.execute(
        sa.select(Section.educator_id, Section.id).where(Section.educator_id.in_(set(educators)))
    ):
        taught[educator].add(section)
    return taught


def hears(endpoint: WebhookEndpoint, role: str, taught: set[int], places: set[Place]) -> bool:
    """The access rules applied to an endpoint: its scope narrows, its owner's visibility bounds."""
    if endpoint.section_id is not None:
        places = {p for p in places if p[0] == endpoint.section_id}
    elif endpoint.course_id is not None:
        places = {p for p in places if p[1] == endpoint.course_id}
    elif role in SEES_EVERYONE:
        return True  # unscoped: everything, learners in no section and exams of no section included
    if role in SEES_EVERYONE:
        return bool(places)
    return role == "educator" and any(section in taught for section, _ in places)


def fan_out(batch: list[list[Any]]) -> list[int]:
    """Record one pending delivery per (message, endpoint that hears it); returns the delivery ids."""
    endpoints = db.session.scalars(sa.select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))).all()
    if not endpoints or not batch:
        return []
    roles = mapping(sa.select(User.id, User.role).where(User.id.in_({e.owner_id for e in endpoints})))
    taught = _taught(owner for owner, role in roles.items() if role == "educator")
    learners = _learner_places(data["learner"] for _, data in batch if data.get("learner"))
    sections = _section_places(
        data["section"] for event, data in batch if event == "exam_created" and data.get("section")
    )
    deliveries = []
    for event, data in batch:
        learner = data.get("learner")
        places = learners.get(learner, set()) if learner else sections.get(data.get("section") or "", set())
        body = None
        for endpoint in endpoints:
            role = roles.get(endpoint.owner_id, "")
            if event in endpoint.events and hears(endpoint, role, taught[endpoint.owner_id], places):
                body = body or delivery_body(event, data)
                deliveries.append(WebhookDelivery(endpoint_id=endpoint.id, event=event, body=body, status="pending"))
    db.session.add_all(deliveries)
    db.session.flush()
    ids = [delivery.id for delivery in deliveries]  # before commit, which expires them (a SELECT each)
    db.session.commit()
    return ids
