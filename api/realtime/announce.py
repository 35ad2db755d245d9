"""What the API publishes itself, right after its commit: ingested events and new exams.

Published straight from the request (one Redis call) rather than by a task, so an educator's view
shows an event within milliseconds. Redis errors are logged by the publisher, never raised: the
event is stored, and clients that missed it refetch.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import redis
import sqlalchemy as sa

from models import Enrollment, Exam, Section, User, db
from services.channels import ADMIN_CHANNEL, announce_revocation, learner_channel, section_channel
from services.clients import redis_client
from services.credentials import credentials_changed
from services.publisher import audience, publish

log = logging.getLogger(__name__)

TYPE_BY_KIND = {"grade": "grade_update", "attendance": "attendance_update"}  # every other kind is `activity`


def announce_events(events: list[tuple[int, dict[str, Any]]]) -> int:
    """Publish stored events on their learners' channels (own and sections'). Activity is grouped
    per learner per request ({"learner", "events": [...]}), so a 5,000-event batch is not 15,000
    messages; grades and attendance go one by one as `grade_update` / `attendance_update`."""
    if not events:
        return 0
    channels, _ = audience(
        redis_client(),
        {learner for learner, _ in events},
        names={learner: event["learner"] for learner, event in events},
        admin=False,
    )
    activity: dict[int, list[dict[str, Any]]] = defaultdict(list)
    messages: list[tuple[str, str, dict[str, Any]]] = []
    for learner, event in events:
        kind = TYPE_BY_KIND.get(event["kind"])
        if kind is None:
            activity[learner].append(event)
        else:
            messages += [(kind, channel, event) for channel in channels.get(learner, ())]
    for learner, items in activity.items():
        data = {"learner": items[0]["learner"], "events": items}
        messages += [("activity", channel, data) for channel in channels.get(learner, ())]
    return publish(redis_client(), messages)


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
