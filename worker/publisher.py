"""Publish messages: append to the channel's bounded Redis stream (for resume), then PUBLISH live."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any, Iterable

import redis
import sqlalchemy as sa

from models import Enrollment, Section, User, db
from worker.channels import ADMIN_CHANNEL, MESSAGE_TYPES, PUBSUB_PREFIX, STREAM_KEY, STREAM_MAXLEN, learner_channel, section_channel

log = logging.getLogger(__name__)


# For each (channel, envelope-without-id) pair: append to the channel's bounded stream, then publish
# the envelope with the stream id spliced in as its first field. One call for a whole batch.
APPEND_AND_PUBLISH = """
local maxlen, prefix, stream_prefix = ARGV[1], ARGV[2], ARGV[3]
for i = 4, #ARGV, 2 do
  local channel, body = ARGV[i], ARGV[i + 1]
  local id = redis.call('XADD', stream_prefix .. channel, 'MAXLEN', '~', maxlen, '*', 'm', body)
  redis.call('PUBLISH', prefix .. channel, '{"id":"' .. id .. '",' .. string.sub(body, 2))
end
return (#ARGV - 3) / 2
"""
CHUNK = 500


def publish(client: redis.Redis, messages: Iterable[tuple[str, str, dict[str, Any]]]) -> int:
    """Publish (type, channel, data) messages; returns how many. Redis errors are logged, not raised:
    the database already holds the truth, and a reconnecting client refetches it."""
    messages = list(messages)
    if not messages:
        return 0
    for kind, _, _ in messages:
        if kind not in MESSAGE_TYPES:
            raise ValueError(f"unknown message type {kind!r}")
    now = datetime.now(timezone.utc).isoformat()
    args: list[str] = []
    for kind, channel, data in messages:
        args += [channel, json.dumps({"type": kind, "channel": channel, "timestamp": now, "data": data},
                                        separators=(",", ":"))]
    try:
        script = client.register_script(APPEND_AND_PUBLISH)
        for start in range(0, len(args), 2 * CHUNK):
            script(args=[STREAM_MAXLEN, PUBSUB_PREFIX, STREAM_KEY.format(""), *args[start:start + 2 * CHUNK]])
    except redis.RedisError as exc:
        log.warning("could not publish %d message(s): %s", len(messages), exc)
        return 0
    return len(messages)


def audience(learner_ids: Iterable[int]) -> tuple[dict[int, list[str]], dict[int, str]]:
    """Channels that should hear about each learner (their own, their sections', the admins'), and
    each learner's external id."""
    ids = sorted(set(learner_ids))
    if not ids:
        return {}, {}
    names = dict(db.session.execute(sa.select(User.id, User.external_id).where(User.id.in_(ids))).all())
    channels = {pk: [learner_channel(ext), ADMIN_CHANNEL] for pk, ext in names.items()}
    for learner, section in db.session.execute(sa.select(Enrollment.learner_id, Section.external_id)
                                               .join(Section, Section.id == Enrollment.section_id)
                                               .where(Enrollment.learner_id.in_(ids))):
        channels[learner].append(section_channel(section))
    return channels, names
