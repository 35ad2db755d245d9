"""One Redis subscription per web process, fanned out to the process's sockets.

The subscriber listens on the pattern `learnpulse:channel:*`, so the number of Redis connections
stays constant however many browsers connect (redis-py pools cap out; one subscription per socket
would starve). When Redis goes away it reconnects with backoff, then replays from each channel's
stream what was published while it was away; connections drop what they already have by id.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

import redis

from api.realtime.connection import Connection, backlog_entries
from api.realtime.protocol import StreamId, envelope_id, parse_stream_id
from worker.channels import PUBSUB_PREFIX, STREAM_KEY, STREAM_MAXLEN

log = logging.getLogger(__name__)
RECONNECT_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0)  # seconds; the last one repeats
CATCH_UP_MARGIN_MS = 5000  # replay this much before the moment the subscription was lost


def envelope_type(raw: str) -> str:
    """The `type` of a published envelope; the publisher writes it right after the id."""
    marker = '","type":"'
    start = raw.find(marker)
    if start < 0:  # not written by our publisher: decode it
        try:
            return str(json.loads(raw).get("type", ""))
        except (ValueError, AttributeError):
            return ""
    start += len(marker)
    return raw[start:raw.find('"', start)]


def read_backlog(client: redis.Redis, channel: str, last_id: str) -> list[tuple[StreamId, str, str]] | None:
    """Messages after `last_id` on the channel's stream, or None if some may be gone (trimmed, or
    Redis restarted): then the client must refetch. The check is exact: the stream still holds
    `last_id` itself only if nothing after it was trimmed."""
    entries = client.xrange(STREAM_KEY.format(channel), min=last_id, max="+", count=STREAM_MAXLEN * 2)
    backlog = backlog_entries(entries)
    if not backlog or backlog[0][0] != parse_stream_id(last_id):
        return None
    return backlog[1:]


def read_since(client: redis.Redis, channel: str, after: str) -> list[tuple[StreamId, str, str]]:
    """Everything on the channel's stream after `after` (exclusive)."""
    return backlog_entries(client.xrange(STREAM_KEY.format(channel), min=f"({after}", max="+",
                                         count=STREAM_MAXLEN * 2))


class Hub:
    """Channel -> local connections, fed by one background subscriber."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.pid = os.getpid()
        self.subscribers: dict[str, set[Connection]] = {}
        self.last_seen: dict[str, str] = {}  # channel with local subscribers -> last stream id dispatched
        self.connected = False
        self.stats = {"messages": 0, "reconnects": 0}
        self._lost_at_ms: int | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name="realtime-subscriber")
                self._thread.start()

    def add(self, connection: Connection, channel: str) -> None:
        with self._lock:
            self.subscribers.setdefault(channel, set()).add(connection)

    def remove(self, connection: Connection, channel: str | None = None) -> None:
        with self._lock:
            for name in [channel] if channel else list(self.subscribers):
                members = self.subscribers.get(name)
                if members is None:
                    continue
                members.discard(connection)
                if not members:
                    del self.subscribers[name]
                    self.last_seen.pop(name, None)

    def connection_count(self) -> int:
        with self._lock:
            return len({c for members in self.subscribers.values() for c in members})

    def status(self) -> dict[str, Any]:
        with self._lock:
            connections = len({c for members in self.subscribers.values() for c in members})
            return {"pid": self.pid, "subscriber_connected": self.connected, "connections": connections,
                    "channels": len(self.subscribers), **self.stats}

    def dispatch(self, channel: str, raw: str) -> None:
        """Hand one published message to every local connection following its channel."""
        try:
            stream_id = envelope_id(raw)
            parsed = parse_stream_id(stream_id)
        except ValueError:
            log.warning("ignoring a message without a stream id on %s", channel)
            return
        kind = envelope_type(raw)
        with self._lock:
            members = self.subscribers.get(channel)
            if not members:
                return
            self.last_seen[channel] = stream_id
            members = list(members)
        self.stats["messages"] += 1
        for connection in members:
            connection.offer(channel, parsed, kind, raw)

    def _run(self) -> None:
        attempt = 0
        while True:
            pubsub = None
            try:
                client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=2, socket_keepalive=True,
                                              health_check_interval=10)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(PUBSUB_PREFIX + "*")
                self.connected, attempt = True, 0
                if self._lost_at_ms is not None:
                    self._catch_up(client)
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    if message and message["type"] == "pmessage":
                        channel = message["channel"].decode()[len(PUBSUB_PREFIX):]
                        self.dispatch(channel, message["data"].decode())
                        time.sleep(0)  # let the senders drain between messages of a burst (a gevent yield)
            except (redis.RedisError, OSError) as exc:
                if self.connected:
                    self._lost_at_ms = int(time.time() * 1000)
                    self.stats["reconnects"] += 1
                    log.warning("realtime subscriber lost Redis (%s); reconnecting", exc)
                self.connected = False
                time.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
                attempt += 1
            except Exception:  # noqa: BLE001  (a bug must not silently end delivery for the process)
                log.exception("realtime subscriber failed; restarting it")
                self.connected = False
                time.sleep(1.0)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except (redis.RedisError, OSError):
                        pass

    def _catch_up(self, client: redis.Redis) -> None:
        """After a reconnect, replay what each followed channel received while we were away."""
        fallback = f"{max(0, (self._lost_at_ms or 0) - CATCH_UP_MARGIN_MS)}-0"
        with self._lock:
            channels = {name: self.last_seen.get(name, fallback) for name in self.subscribers}
        replayed = 0
        for channel, after in channels.items():
            for stream_id, _, raw in read_since(client, channel, after):
                self.dispatch(channel, raw)
                replayed += 1
        self._lost_at_ms = None
        log.info("realtime subscriber reconnected; replayed %d message(s) on %d channel(s)", replayed, len(channels))


_hub: Hub | None = None
_hub_lock = threading.Lock()


def process_hub(redis_url: str) -> Hub:
    """This process's hub, started on first use (after gunicorn forks, never in the master)."""
    global _hub
    with _hub_lock:
        if _hub is None or _hub.pid != os.getpid():
            _hub = Hub(redis_url)
        _hub.start()
        return _hub


def realtime_status() -> dict[str, Any]:
    """The hub's state in this process, or that no socket has connected to it yet."""
    hub = _hub
    if hub is None or hub.pid != os.getpid():
        return {"pid": os.getpid(), "started": False, "connections": 0}
    return {"started": True, **hub.status()}
