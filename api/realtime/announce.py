"""What the API publishes itself, right after its commit: ingested events and new exams.

Published straight from the request (one Redis round trip, shared with the evaluation request) rather than by a task, so an educator's view
shows an event within milliseconds. Redis errors are logged by the publisher, never raised: the
event is stored, and clients that missed it refetch.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import redis
import sqlalchemy as sa

from models import Enrollment, Exam, Section, User, db
from services.channels import (
    ADMIN_CHANNEL,
    announce_revocation,
    learner_channel,
    queue_sections_watched,
    section_channel,
)
from services.clients import redis_client
from services.credentials import credentials_changed
from services.dispatch import request_evaluation, run_with_evaluation
from services.live_shapes import attendance_fields, exam_fields, grade_fields
from services.notifications.outbox import wanted_events
from services.presence import queue_presence, record_presence
from services.publisher import publish, queue_watched, watched_channels
from services.redis_trip import RoundTrip
from services.routing import event_channels

log = logging.getLogger(__name__)

TYPE_BY_KIND = {"grade": "grade_update", "attendance": "attendance_update"}  # every other kind is `activity`
BRIEF_FIELDS = {"grade_update": grade_fields, "attendance_update": attendance_fields}


def announce_events(
    events: list[tuple[int, dict[str, Any]]],
    evaluate: Iterable[int] = (),
    presence: dict[int, float] | None = None,
    views: Callable[[], list[tuple[int, dict[str, Any]]]] | None = None,
) -> int:
    """Publish stored events, each once, on the channels it belongs to (services.routing): the learner's
    own and the sections whose business it is. Activity is grouped per learner and channel set per
    request ({"learner", "events": [...]}), so a 5,000-event batch is not 15,000 messages; grades and
    attendance go one by one as `grade_update` / `attendance_update`, with the brief's fields beside ours.
    The `evaluate` learners are queued for evaluation and the `presence` reaches recorded
    (services.presence) first, before anything is published. With `views`, `events` need hold only each event's
    learner and kind: the (learner, public event) pairs published are built by `views`, once something may be."""
    if not events:
        request_evaluation(evaluate)  # logs, never raises: the events are stored, the next sweep evaluates
        if presence:
            record_presence(redis_client(), presence)
        return 0
    client = redis_client()
    own = set(map(learner_channel, {event["learner"] for _, event in events}))  # a call per learner, not per event
    with_sections, known = _one_trip(client, evaluate, own, presence or {})
    if with_sections is False and known is not None and not any(known.values()):
        if not any(event["kind"] in TYPE_BY_KIND for _, event in events):
            return 0  # only activity, on learners' own channels, none followed: no message to build
    if views is not None:
        events = views()
    routes = event_channels(client, events, with_sections)
    activity: dict[tuple[int, tuple[str, ...]], list[dict[str, Any]]] = defaultdict(list)
    records: dict[str, list[tuple[int, dict[str, Any], list[str]]]] = defaultdict(list)
    for (learner, event), channels in zip(events, routes):
        kind = TYPE_BY_KIND.get(event["kind"])
        if kind is None:
            activity[(learner, tuple(channels))].append(event)
        else:
            records[kind].append((learner, event, channels))
    messages: list[tuple[str, list[str], dict[str, Any]]] = []
    watched = watched_channels(
        client, {channel for items in records.values() for _, _, names in items for channel in names}, known
    )
    hooked = wanted_events() if records else set()  # webhooks hear these whether or not a socket follows
    for kind, items in records.items():
        items = [item for item in items if kind in hooked or watched.intersection(item[2])]  # fields cost queries
        extra = BRIEF_FIELDS[kind]([(learner, event) for learner, event, _ in items]) if items else []
        messages += [(kind, channels, {**event, **more}) for (_, event, channels), more in zip(items, extra)]
    messages += [
        ("activity", list(channels), {"learner": items[0]["learner"], "events": items})
        for (_, channels), items in activity.items()
    ]
    return publish(client, messages, known)


def _one_trip(
    client: redis.Redis, evaluate: Iterable[int], own_channels: set[str], presence: dict[int, float]
) -> tuple[bool | None, dict[str, bool] | None]:
    """The evaluation request, the presence record, whether any section channel is watched and which of the
    learners' own channels are, in one Redis round trip (four before). If Redis fails, the evaluation request
    is logged as lost (the next sweep evaluates them) and the two look-ups are asked again on their own below,
    where they go on as they always did: the events are stored whatever happens here."""
    trip = RoundTrip(client)
    queue_presence(trip, presence)
    sections = queue_sections_watched(trip)
    watched = queue_watched(trip, own_channels)
    if run_with_evaluation(trip, evaluate) is None:
        return None, None
    return sections(), watched()


def announce_exam(exam: Exam) -> int:
    """`exam_created`, once, for the exam's section, its enrolled learners and the admins."""
    section = db.session.get(Section, exam.section_id) if exam.section_id else None
    channels = [ADMIN_CHANNEL]
    if section is not None:
        channels.append(section_channel(section.external_id))
        channels += [
            learner_channel(name)
            for name in db.session.scalars(
                sa.select(User.external_id)
                .join(Enrollment, Enrollment.learner_id == User.id)
                .where(Enrollment.section_id == section.id)
            )
        ]
    data = {
        "exam": exam.external_id,
        "title": exam.title,
        "max_marks": exam.max_marks,
        "held_on": exam.held_on.isoformat() if exam.held_on else None,
        "section": section.external_id if section is not None else None,
        **exam_fields(exam, section),
    }
    return publish(redis_client(), [("exam_created", channels, data)])


def revoke_sockets(user_id: int) -> None:
    """After a commit that removed a user's access: every web process forgets the token verifications it
    remembers (api.auth.token_cache) and closes that user's sockets. Best-effort like all publishing
    (logged, never a 500): remembered verifications also lapse after AUTH_CACHE_SECONDS."""
    try:
        credentials_changed(redis_client())
        announce_revocation(redis_client(), user_id)
    except redis.RedisError as exc:
        log.warning("could not announce the revocation of user %d: %s", user_id, exc)
