"""Channel names, message ids, and which channels are watched.

Envelope (services.envelope): {"id": "<global id>", "type", "channel", "timestamp", "data", "channels"}.
Message ids are global: every id comes from one Redis key (`LAST_ID_KEY`, via `LUA_NEXT_ID`), so ids of
all messages on all channels are in one order, and one message published to several channels carries
the same id, which is also its stream id on each (streams accept explicit ids that only increase).

Only *watched* channels carry messages: a web process marks a channel watched (in a sorted set,
until a time) while a socket follows it, and for an hour after. Publishing to an unwatched channel
costs one lookup, so ingest does not pay for learners nobody is looking at, and a channel's stream
never outlives its watch (a reconnect after an unwatched gap gets `resync`, never a silent hole).
Watching a channel also starts its stream (a first, empty entry marks where its kept history begins)
and keeps the stream as long as the watch: a client's resume point on a quiet channel stays valid,
and a stream that is gone means an unwatched gap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import redis

from services.redis_trip import RoundTrip

MESSAGE_TYPES = (
    "metrics_update",
    "alert",
    "alert_resolved",
    "achievement",
    "activity",
    "grade_update",
    "attendance_update",
    "exam_created",
    "dashboard_initial_data",
    "error",
    "pong",
)
STREAM_KEY = "learnpulse:stream:{}"
LAST_ID_KEY = "learnpulse:last-id"  # the last message id handed out (no expiry: ids must keep increasing)
STREAM_MAXLEN = 1000  # messages kept per channel for clients that reconnect with their last id
PUBSUB_PREFIX = "learnpulse:channel:"
WATCHED_KEY = "learnpulse:watched"  # sorted set: channel -> epoch ms until which its messages are kept
WATCHED_SECTIONS_KEY = "learnpulse:watched:sections"  # the same for section channels only: publishers skip
# looking up learners' sections while no section channel is watched
WATCH_SECONDS = 3600  # also the longest resume window of a quiet channel

# Lua: `next_id()` hands out the next global id ("<ms>-<seq>", after every id handed out before, from
# Redis's clock), `raise_floor(id)` makes later ids exceed one found in a stream. KEYS[1] is LAST_ID_KEY
# in every script that includes this.
LUA_NEXT_ID = """
local function split_id(value)
  local dash = string.find(value, '-', 1, true)
  return tonumber(string.sub(value, 1, dash - 1)), tonumber(string.sub(value, dash + 1))
end
local function raise_floor(value)
  local last = redis.call('GET', KEYS[1])
  local ms, seq = split_id(value)
  if last then
    local last_ms, last_seq = split_id(last)
    if last_ms > ms or (last_ms == ms and last_seq >= seq) then return end
  end
  redis.call('SET', KEYS[1], value)
end
local function next_id()
  local clock = redis.call('TIME')
  local ms, seq = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000), 0
  local last = redis.call('GET', KEYS[1])
  if last then
    local last_ms, last_seq = split_id(last)
    if last_ms >= ms then ms, seq = last_ms, last_seq + 1 end
  end
  local id = string.format('%.0f-%.0f', ms, seq)
  redis.call('SET', KEYS[1], id)
  return id
end
"""

# Mark channels watched for ARGV[1] seconds from now (Redis's clock, the one the publisher compares
# with), start the stream of each that has none and keep every stream until the watch ends; forget
# watches that have lapsed. ARGV[2] is the stream key prefix.
WATCH = (
    LUA_NEXT_ID
    + """
local now = redis.call('TIME')
local until_ms = now[1] * 1000 + math.floor(now[2] / 1000) + ARGV[1] * 1000
for i = 3, #ARGV do
  local key = ARGV[2] .. ARGV[i]
  redis.call('ZADD', KEYS[2], until_ms, ARGV[i])
  if string.sub(ARGV[i], 1, 8) == 'section:' then redis.call('ZADD', KEYS[3], until_ms, ARGV[i]) end
  if tonumber(ARGV[1]) > 0 and redis.call('EXISTS', key) == 0 then
    redis.call('XADD', key, next_id(), 'start', '1')
  end
  redis.call('PEXPIREAT', key, until_ms)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now[1] * 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now[1] * 1000)
return #ARGV - 2
"""
)


def learner_channel(external_id: str) -> str:
    return f"learner:{external_id}"


def section_channel(external_id: str) -> str:
    return f"section:{external_id}"


ADMIN_CHANNEL = "admin"
# Every web process listens here: a user id published on it closes that user's open sockets at once
# (deactivated, re-roled, or their tokens revoked), instead of when their token would expire.
REVOCATION_CHANNEL = "learnpulse:revocations"


def announce_revocation(client: redis.Redis, user_id: int) -> None:
    """Tell every web process to close this user's sockets now."""
    client.publish(REVOCATION_CHANNEL, str(user_id))


def watch(client: redis.Redis, channels: Iterable[str], seconds: int = WATCH_SECONDS) -> int:
    """Keep publishing (and streaming) these channels for `seconds` from now; a negative time ends the
    watch and drops the streams."""
    names = list(channels)
    script = client.register_script(WATCH)
    for start in range(0, len(names), 1000):
        script(
            keys=[LAST_ID_KEY, WATCHED_KEY, WATCHED_SECTIONS_KEY],
            args=[seconds, STREAM_KEY.format(""), *names[start : start + 1000]],
        )
    return len(names)


def sections_watched(client: redis.Redis) -> bool:
    """Whether any section channel is followed now (so learners' sections are worth looking up)."""
    return client.zcount(WATCHED_SECTIONS_KEY, int(time.time() * 1000), "+inf") > 0


def queue_sections_watched(trip: RoundTrip) -> Callable[[], bool]:
    """sections_watched within a shared round trip; call the returned function once the trip has run."""
    index = trip.add(lambda pipe: pipe.zcount(WATCHED_SECTIONS_KEY, int(time.time() * 1000), "+inf"))
    return lambda: int(trip.replies[index]) > 0
