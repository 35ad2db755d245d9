"""Publish messages: one global id per message, appended to each of its channels' bounded Redis streams
(for resume), then PUBLISHed live on each."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import redis
import sqlalchemy as sa

from models import Enrollment, Section, User, db
from models.upsert import chunks_in, select_where_in
from services.channels import (
    ADMIN_CHANNEL,
    LAST_ID_KEY,
    LUA_NEXT_ID,
    MESSAGE_TYPES,
    PUBSUB_PREFIX,
    STREAM_KEY,
    STREAM_MAXLEN,
    WATCHED_KEY,
    learner_channel,
    section_channel,
    sections_watched,
)
from services.clients import app_script
from services.envelope import LUA_BODY, LUA_SPLICE, dumps, envelope_parts, now_iso
from services.notifications.outbox import queue_notifications
from services.redis_trip import RoundTrip

log = logging.getLogger(__name__)


# For each message: (channel count n, envelope head, envelope tail, then n pairs of channel name and its
# JSON). The message gets one global id if any of its channels is watched; it is appended under that id
# to the bounded stream of each watched one (expiring with the watch), then published on each with the
# id spliced in as its first field and the list of those channels as its last; a copy on a learner's
# channel lists no other learner's (an exam announced to a class does not tell each learner who else
# is in it; whoever follows a section or admin channel may see the class anyway). A stream whose last id
# is already past the next one (the id key was lost while streams stayed) is rare: the message then
# moves past every stream it goes to, so its id stays one. Returns how many messages went out.
APPEND_AND_PUBLISH = (
    LUA_NEXT_ID
    + """
local maxlen, prefix, stream_prefix = ARGV[1], ARGV[2], ARGV[3]
local now = redis.call('TIME')
local now_ms = now[1] * 1000 + math.floor(now[2] / 1000)
local published, i = 0, 4
while i <= #ARGV do
  local n, head, tail = tonumber(ARGV[i]), ARGV[i + 1], ARGV[i + 2]
  local names, encoded, untils = {}, {}, {}
  for k = 1, n do
    local channel = ARGV[i + 1 + 2 * k]
    local until_ms = tonumber(redis.call('ZSCORE', KEYS[2], channel) or 0)
    if until_ms > now_ms then
      local at = #names + 1
      names[at], encoded[at], untils[at] = channel, ARGV[i + 2 + 2 * k], until_ms
    end
  end
  i = i + 3 + 2 * n
  if #names > 0 then
    local all_json, shared = '[' .. table.concat(encoded, ',') .. ']', {}
    for k = 1, #names do
      if string.sub(names[k], 1, 8) ~= 'learner:' then shared[#shared + 1] = encoded[k] end
    end
    local bodies, added, id = {}, {}, next_id()
    for k = 1, #names do
      local channel_json, channels_json = encoded[k], all_json
      if string.sub(names[k], 1, 8) == 'learner:' then
        local own = {unpack(shared)}
        own[#own + 1] = channel_json
        channels_json = '[' .. table.concat(own, ',') .. ']'
      end
      bodies[k] = """
    + LUA_BODY
    + """
      local reply = redis.pcall('XADD', stream_prefix .. names[k], 'MAXLEN', '~', maxlen, id, 'm', bodies[k])
      if type(reply) ~= 'table' or not reply.err then added[#added + 1] = names[k] end
    end
    if #added < #names then
      for _, channel in ipairs(added) do redis.call('XDEL', stream_prefix .. channel, id) end
      for _, channel in ipairs(names) do
        local top = redis.call('XREVRANGE', stream_prefix .. channel, '+', '-', 'COUNT', 1)
        if top[1] then raise_floor(top[1][1]) end
      end
      id = next_id()
      for k = 1, #names do redis.call('XADD', stream_prefix .. names[k], 'MAXLEN', '~', maxlen, id, 'm', bodies[k]) end
    end
    for k = 1, #names do
      local body = bodies[k]
      redis.call('PEXPIREAT', stream_prefix .. names[k], untils[k])
      redis.call('PUBLISH', prefix .. names[k], """
    + LUA_SPLICE
    + """)
    end
    published = published + 1
  end
end
return published
"""
)
CHUNK = 500  # messages per script call
Message = tuple[str, str | Sequence[str], dict[str, Any]]  # (type, channel or channels, data)


def _watched(client: redis.Redis, channels: list[str], known: dict[str, bool] | None = None) -> set[str]:
    """Channels someone follows (or did lately); the script re-checks, this only saves encoding.
    `known`: channels already looked up in this request (queue_watched), not asked again."""
    known = known or {}
    ask = [channel for channel in channels if channel not in known]
    found = {channel for channel in channels if known.get(channel)}
    if ask:
        found.update(channel for channel, score in zip(ask, client.zmscore(WATCHED_KEY, ask)) if score is not None)
    return found


# ZMSCORE's answer as the positions (from 1) of the channels that have a score: a 1,000-learner batch's
# ZMSCORE reply was 1,000 nils, ~0.4 ms of the web process's CPU to parse in Python (Redis: ~0.1 ms more here).
WATCHED_AMONG = """local scores = redis.call('ZMSCORE', KEYS[1], unpack(ARGV))
local found = {}
for i = 1, #ARGV do
  if scores[i] then found[#found + 1] = i end
end
return found"""
WATCHED_AMONG_CHUNK = 5000  # Lua's unpack() has a stack limit


def queue_watched(trip: RoundTrip, channels: Iterable[str]) -> Callable[[], dict[str, bool]]:
    """_watched's look-up within a shared round trip; the returned function gives, once the trip has run,
    whether each channel is watched (for publish's `known`)."""
    names = sorted(set(channels))
    if not names:
        return dict
    script = app_script("watched_among", WATCHED_AMONG)
    chunks = [names[start : start + WATCHED_AMONG_CHUNK] for start in range(0, len(names), WATCHED_AMONG_CHUNK)]
    indexes = [trip.add_script(script, [WATCHED_KEY], chunk) for chunk in chunks]

    def known() -> dict[str, bool]:
        watched = dict.fromkeys(names, False)
        for index, chunk in zip(indexes, chunks):
            for position in trip.replies[index]:
                watched[chunk[position - 1]] = True
        return watched

    return known


def watched_channels(client: redis.Redis, channels: Iterable[str], known: dict[str, bool] | None = None) -> set[str]:
    """Which of these channels are watched now (none if Redis is away: publishing would fail too), so
    callers skip building messages nobody would receive. `known`: as for publish."""
    names = sorted(set(channels))
    if not names:
        return set()
    try:
        return _watched(client, names, known)
    except redis.RedisError:
        return set()


def _targets(messages: list[Message]) -> list[tuple[str, list[str], dict[str, Any]]]:
    """Each message with its channels as a list without repeats (a bare channel name is one channel)."""
    out = []
    for kind, channels, data in messages:
        if kind not in MESSAGE_TYPES:
            raise ValueError(f"unknown message type {kind!r}")
        names = [channels] if isinstance(channels, str) else list(dict.fromkeys(channels))
        out.append((kind, names, data))
    return out


def _script_args(messages: list[tuple[str, list[str], dict[str, Any]]]) -> list[list[str]]:
    """The script's arguments, one list per call of at most CHUNK messages."""
    now = now_iso()
    calls: list[list[str]] = []
    for start in range(0, len(messages), CHUNK):
        args: list[str] = []
        for kind, names, data in messages[start : start + CHUNK]:
            head, tail = envelope_parts(kind, dumps(data), now)
            args += [str(len(names)), head, tail]
            for name in names:
                args += [name, dumps(name)]
        calls.append(args)
    return calls


def publish(client: redis.Redis, messages: Iterable[Message], known: dict[str, bool] | None = None) -> int:
    """Publish (type, channels, data) messages on their watched channels, each ONCE with one id for all
    its channels; returns how many messages went out. Redis errors are logged, not raised: the database
    already holds the truth, and a reconnecting client refetches it. `known`: whether channels are
    watched, as the caller already looked up within its own round trip (queue_watched)."""
    targets = _targets(list(messages))
    if not targets:
        return 0
    queue_notifications(targets)  # webhooks and email hear of every message, watched or not
    try:
        watched = _watched(client, sorted({name for _, names, _ in targets for name in names}), known)
        targets = [(kind, kept, data) for kind, names, data in targets if (kept := [n for n in names if n in watched])]
        if not targets:
            return 0
        script = client.register_script(APPEND_AND_PUBLISH)
        return sum(
            int(
                script(
                    keys=[LAST_ID_KEY, WATCHED_KEY], args=[STREAM_MAXLEN, PUBSUB_PREFIX, STREAM_KEY.format(""), *args]
                )
            )
            for args in _script_args(targets)
        )
    except redis.RedisError as exc:
        log.warning("could not publish %d message(s): %s", len(targets), exc)
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
        names = dict(select_where_in([User.id, User.external_id], User.id, ids))  # one array, not 5,000 params
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
