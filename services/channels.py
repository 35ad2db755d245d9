"""Channel names and the one message envelope every published message uses.

Envelope: {"id": "<stream id>", "type": "...", "channel": "...", "timestamp": "ISO-8601 UTC", "data": {...}}

Only *watched* channels carry messages: a web process marks a channel watched (in a sorted set,
until a time) while a socket follows it, and for an hour after. Publishing to an unwatched channel
costs one lookup, so ingest does not pay for learners nobody is looking at, and a channel's stream
never outlives its watch (a reconnect after an unwatched gap gets `resync`, never a silent hole).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import redis

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
STREAM_MAXLEN = 1000  # messages kept per channel for clients that reconnect with their last id
PUBSUB_PREFIX = "learnpulse:channel:"
WATCHED_KEY = "learnpulse:watched"  # sorted set: channel -> epoch ms until which its messages are kept
WATCHED_SECTIONS_KEY = "learnpulse:watched:sections"  # the same for section channels only: publishers skip
# looking up learners' sections while no section channel is watched
WATCH_SECONDS = 3600  # also the longest resume window of a quiet channel

# Mark channels watched for ARGV[1] seconds from now (Redis's clock, the one the publisher compares
# with), and forget watches that have lapsed.
WATCH = """
local now = redis.call('TIME')
local until_ms = now[1] * 1000 + math.floor(now[2] / 1000) + ARGV[1] * 1000
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], until_ms, ARGV[i])
  if string.sub(ARGV[i], 1, 8) == 'section:' then redis.call('ZADD', KEYS[2], until_ms, ARGV[i]) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now[1] * 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now[1] * 1000)
return #ARGV - 1
"""


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
    """Keep publishing (and streaming) these channels for `seconds` from now."""
    names = list(channels)
    script = client.register_script(WATCH)
    for start in range(0, len(names), 1000):
        script(keys=[WATCHED_KEY, WATCHED_SECTIONS_KEY], args=[seconds, *names[start : start + 1000]])
    return len(names)


def sections_watched(client: redis.Redis) -> bool:
    """Whether any section channel is followed now (so learners' sections are worth looking up)."""
    return client.zcount(WATCHED_SECTIONS_KEY, int(time.time() * 1000), "+inf") > 0
