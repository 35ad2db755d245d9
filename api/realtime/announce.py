"""What the API publishes itself, right after its commit: ingested events and new exams.

Published straight from the request (one Redis round trip, shared with the evaluation request) rather than by a task, so an educator's view
shows an event within milliseconds. Redis errors are logged by the publisher, never raised: the
event is stored, and clients that missed it refetch.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import redis
import sqlalchemy as sa
from kombu.exceptions import OperationalError

from models import Enrollment, Exam, Section, User, db
from services.channels import ADMIN_CHANNEL, announce_revocation, learner_channel, section_channel
from services.clients import redis_client
from services.credentials import credentials_changed
from services.dispatch import queue_evaluation
from services.publisher import (
    add_section_channels,
    publish,
    sections_watched_reply,
    watched_channels,
    watched_reply,
)
from services.redis_trip import RoundTrip

log = logging.getLogger(__name__)

TYPE_BY_KIND = {"grade": "grade_update", "attendance": "attendance_update"}  # every other kind is `activity`


def announce_events(events: list[tuple[int, dict[str, Any]]], evaluate: Iterable[int] = ()) -> int:
    """Publish stored events on their learners' channels (own and sections'), and queue the `evaluate`
    learners for evaluation, in one Redis round trip when no channel of theirs is watched (a second
    only to publish, a query and a third when some section channel is). Activity is grouped per learner
    per request ({"learner", "events": [...]}), so a 5,000-event batch is not 15,000 messages; grades
    and attendance go one by one as `grade_update` / `attendance_update`."""
    if not events and not evaluate:
        return 0
    client = redis_client()
    trip = RoundTrip(client)
    schedule = queue_evaluation(trip, evaluate)
    names = {learner: event["learner"] for learner, event in events}
    channels = {pk: [learner_channel(name)] for pk, name in names.items()}
    with_sections = sections_watched_reply(trip)
    own_watched = watched_reply(trip, sorted(channel for (channel,) in channels.values()))
    try:
        trip.execute()
    except redis.RedisError as exc:  # the events are stored: the next sweep evaluates, clients refetch
        log.warning("could not queue evaluations or publish %d event(s): %s", len(events), exc)
        return 0
    try:
        schedule()
    except OperationalError as exc:
        log.warning("could not send the evaluation drain task (the next sweep evaluates): %s", exc)
    watched = own_watched()
    if with_sections():
        add_section_channels(channels)
        try:
            watched |= watched_channels(client, sorted({c for listed in channels.values() for c in listed[1:]}))
        except redis.RedisError as exc:
            log.warning("could not look up watched section channels: %s", exc)
    if not watched:
        return 0
    return publish(client, _event_messages(events, channels, watched), watched=watched)


def _event_messages(
    events: list[tuple[int, dict[str, Any]]], channels: dict[int, list[str]], watched: set[str]
) -> list[tuple[str, str, dict[str, Any]]]:
    """(type, channel, data) of each stored event on each watched channel of its learner."""
    activity: dict[int, list[dict[str, Any]]] = defaultdict(list)
    messages: list[tuple[str, str, dict[str, Any]]] = []
    for learner, event in events:
        kind = TYPE_BY_KIND.get(event["kind"])
        if kind is None:
            activity[learner].append(event)
        else:
            messages += [(kind, channel, event) for channel in channels[learner] if channel in watched]
    for learner, items in activity.items():
        data = {"learner": items[0]["learner"], "events": items}
        messages += [("activity", channel, data) for channel in channels[learner] if channel in watched]
    return messages


def announce_exam(exam: Exam) -> int:
    """`exam_created` for the exam's section, its enrolled learners and the admins."""
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
    }
    return publish(redis_client(), [("exam_created", channel, data) for channel in channels])


def revoke_sockets(user_id: int) -> None:
    """After a commit that removed a user's access: every web process forgets the token verifications it
    remembers (api.auth.token_cache) and closes that user's sockets. Best-effort like all publishing
    (logged, never a 500): remembered verifications also lapse after AUTH_CACHE_SECONDS."""
    try:
        credentials_changed(redis_client())
        announce_revocation(redis_client(), user_id)
    except redis.RedisError as exc:
        log.warning("could not announce the revocation of user %d: %s", user_id, exc)
