"""Publish messages: append to the channel's bounded Redis stream (for resume), then PUBLISH live."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis
import sqlalchemy as sa

from models import Enrollment, Section, User, db
from models.queries import mapping
from models.upsert import chunks_in
from services.channels import (
    ADMIN_CHANNEL,
    MESSAGE_TYPES,
    PUBSUB_PREFIX,
    STREAM_KEY,
    STREAM_MAXLEN,
    WATCHED_KEY,
    WATCHED_SECTIONS_KEY,
    learner_channel,
    section_channel,
    sections_watched,
)
from services.envelope import LUA_SPLICE, Envelope, now_iso
from services.redis_trip import RoundTrip

log = logging.getLogger(__name__)


# For each (channel, envelope-without-id) pair on a watched channel: append to the channel's bounded
# stream (expiring with the watch), then publish the envelope with the stream id spliced in as its
# first field. One call for a whole batch; returns how many were published.
APPEND_AND_PUBLISH = (
    """
local maxlen, prefix, stream_prefix = ARGV[1], ARGV[2], ARGV[3]
local now = redis.call('TIME')
local now_ms = now[1] * 1000 + math.floor(now[2] / 1000)
local published = 0
for i = 4, #ARGV, 2 do
  local channel, body = ARGV[i], ARGV[i + 1]
  local until_ms = tonumber(redis.call('ZSCORE', KEYS[1], channel) or 0)
  if until_ms > now_ms then
    local key = stream_prefix .. channel
    local id = redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', 'm', body)
    redis.call('PEXPIREAT', key, until_ms)
    redis.call('PUBLISH', prefix .. channel, """
    + LUA_SPLICE
    + """)
    published = published + 1
  end
end
return published
"""
)
CHUNK = 500


def watched_channels(client: redis.Redis, channels: list[str]) -> set[str]:
    """Channels someone follows (or did lately); the script re-checks, this only saves encoding."""
    return {channel for channel, score in zip(channels, client.zmscore(WATCHED_KEY, channels)) if score is not None}


def watched_reply(trip: RoundTrip, channels: list[str]) -> Callable[[], set[str]]:
    """`watched_channels` as part of a shared round trip: call the result once the trip has run."""
    if not channels:
        return set
    index = trip.add(lambda pipe: pipe.zmscore(WATCHED_KEY, channels))
    return lambda: {channel for channel, score in zip(channels, trip.replies[index]) if score is not None}


def sections_watched_reply(trip: RoundTrip) -> Callable[[], bool]:
    """`sections_watched` as part of a shared round trip: call the result once the trip has run."""
    index = trip.add(lambda pipe: pipe.zcount(WATCHED_SECTIONS_KEY, int(time.time() * 1000), "+inf"))
    return lambda: trip.replies[index] > 0


def publish(
    client: redis.Redis, messages: Iterable[tuple[str, str, dict[str, Any]]], watched: set[str] | None = None
) -> int:
    """Publish (type, channel, data) messages on watched channels; returns how many went out. Redis
    errors are logged, not raised: the database already holds the truth, and a reconnecting client
    refetches it. `watched`: the watched channels among them, when the caller looked them up already."""
    messages = list(messages)
    for kind, _, _ in messages:
        if kind not in MESSAGE_TYPES:
            raise ValueError(f"unknown message type {kind!r}")
    if not messages:
        return 0
    try:
        if watched is None:
            watched = watched_channels(client, sorted({channel for _, channel, _ in messages}))
        messages = [message for message in messages if message[1] in watched]
        if not messages:
            return 0
        now = now_iso()
        encoded: dict[int, str] = {}  # id(data) -> JSON: one message fanned out to several channels is encoded once
        args: list[str] = []
        for kind, channel, data in messages:
            body = encoded.get(id(data))
            if body is None:
                body = encoded[id(data)] = json.dumps(data, separators=(",", ":"))
            args += [channel, Envelope(kind, channel, data, now).encode_without_id(body)]
        script = client.register_script(APPEND_AND_PUBLISH)
        return sum(
            int(
                script(
                    keys=[WATCHED_KEY],
                    args=[STREAM_MAXLEN, PUBSUB_PREFIX, STREAM_KEY.format(""), *args[start : start + 2 * CHUNK]],
                )
            )
            for start in range(0, len(args), 2 * CHUNK)
        )
    except redis.RedisError as exc:
        log.warning("could not publish %d message(s): %s", len(messages), exc)
        return 0


def audience(
    client: redis.Redis, learner_ids: Iterable[int], names: dict[int, str] | None = None, admin: bool = True
) -> tuple[dict[int, list[str]], dict[int, str]]:
    """Channels that should hear about each learner (their own, their sections' when any section
    channel is watched, and with `admin` the admins'), and each learner's external id (looked up
    unless given). The admin channel carries alerts, not every learner's activity and metrics: a
    sweep would send it one message per learner."""
    ids = sorted(set(learner_ids))
    if not ids:
        return {}, {}
    if names is None:
        names = mapping(sa.select(User.id, User.external_id).where(User.id.in_(ids)))
    channels = {pk: [learner_channel(names[pk]), *([ADMIN_CHANNEL] if admin else [])] for pk in ids if pk in names}
    try:
        with_sections = sections_watched(client)
    except redis.RedisError:
        with_sections = False  # publishing will fail too, and say so
    if with_sections:
        add_section_channels(channels)
    return channels, names


def add_section_channels(channels: dict[int, list[str]]) -> None:
    """Append each learner's section channels to their list (one query per 1,000 learners on SQLite)."""
    for condition in chunks_in(Enrollment.learner_id, channels):
        for learner, section in db.session.execute(
            sa.select(Enrollment.learner_id, Section.external_id)
            .join(Section, Section.id == Enrollment.section_id)
            .where(condition)
        ):
            channels[learner].append(section_channel(section))
