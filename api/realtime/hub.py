"""One Redis subscription per web process, fanned out to the process's sockets.

The hub holds a single pub/sub connection and SUBSCRIBEs on it to exactly the channels its sockets
follow (only the hub's own thread touches that connection: handlers queue their requests, since
redis-py's PubSub breaks when one greenlet writes while another reads), so Redis connections stay constant however many browsers connect (one subscription per
socket would exhaust redis-py's pool), and a process receives only the traffic its sockets want.
Channels it follows are marked watched (see services.channels) so publishers keep sending them.
When Redis goes away it reconnects with backoff, resubscribes, and once Redis has confirmed the
subscriptions (not merely been sent them: a message published before Redis reads a SUBSCRIBE reaches
only the stream) replays from each channel's stream what was published meanwhile, merged in id order;
connections drop what they already have. Sockets are told to resync after a restart only then too.
Messages reach connections in id order (ids are global and Redis publishes in that order), which
is what lets each connection deliver a message that several of its channels carry exactly once.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from typing import Any

import redis

from api.realtime.connection import Connection
from api.realtime.hub_subscriber import KEEPALIVE_CHANNEL, Subscriber
from api.realtime.protocol import parse_stream_id, text_frame
from api.realtime.streams import Item
from services.clients import shared_redis
from services.envelope import envelope_channels, envelope_id, envelope_type

log = logging.getLogger(__name__)
CONFIRM_TIMEOUT = 5.0  # seconds a new follower waits for Redis to confirm its channel's subscription


class Hub(Subscriber):
    """Channel -> local connections, fed by one background subscriber (the thread's loop: hub_subscriber)."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.pid = os.getpid()
        self.connections: set[Connection] = set()
        self.subscribers: dict[str, set[Connection]] = {}
        self.last_seen: dict[str, str] = {}  # followed channel -> last stream id dispatched
        self.connected = False
        self.stats = {"messages": 0, "reconnects": 0}
        self.client = shared_redis(redis_url)  # backlog reads and watches, from many sockets at once
        self._subscribed: set[str] = set()  # channels SUBSCRIBEd (or asked to be) on the current connection
        self._confirmations: dict[str, threading.Event] = {}  # channel -> set when Redis confirms its SUBSCRIBE
        self._fences: dict[str, threading.Event] = {}  # token -> set when the subscriber reads it back
        self._requests: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()  # ("subscribe"|"unsubscribe", channel)
        self._lost_at_ms: int | None = None
        self._run_id: str | None = None  # Redis server run id: it changes when Redis restarts
        self._lock = threading.Lock()  # guards the maps and sets above
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name="realtime-subscriber")
                self._thread.start()

    # --- connections and channels --------------------------------------------------------------
    def attach(self, connection: Connection) -> None:
        with self._lock:
            self.connections.add(connection)

    def detach(self, connection: Connection) -> None:
        with self._lock:
            self.connections.discard(connection)
            channels = [name for name, members in self.subscribers.items() if connection in members]
        for channel in channels:
            self.remove(connection, channel)

    def add(self, connection: Connection, channels: list[str]) -> None:
        """Deliver these channels to `connection`; returns once Redis delivers them to this process
        (or after CONFIRM_TIMEOUT if Redis is away), so a backlog read afterwards cannot miss a message
        published in between. All are requested before any is awaited: one round trip for many."""
        waits, requested = [], False
        with self._lock:
            for channel in channels:
                self.subscribers.setdefault(channel, set()).add(connection)
                confirmed = self._confirmations.get(channel)  # subscribing right now, maybe for another socket
                if confirmed is None and channel not in self._subscribed:
                    confirmed = self._confirmations[channel] = threading.Event()
                    self._subscribed.add(channel)
                    self._requests.put(("subscribe", channel))
                    requested = True
                if confirmed is not None:
                    waits.append(confirmed)
        if requested:
            self._wake_subscriber()
        deadline = time.monotonic() + CONFIRM_TIMEOUT
        for confirmed in waits:
            confirmed.wait(max(0.0, deadline - time.monotonic()))

    def _wake_subscriber(self) -> None:
        """A message on the keepalive channel ends the subscriber's wait for traffic, so it sends the new
        SUBSCRIBE now instead of at its next poll (up to POLL_SECONDS: a quiet process's socket opens took
        0-50 ms longer). If Redis is away the poll takes the request after the reconnect."""
        try:
            self.client.publish(KEEPALIVE_CHANNEL, "wake")
        except (redis.RedisError, OSError) as exc:
            log.debug("could not wake the subscriber (%s)", exc)

    def fence(self) -> None:
        """Return once the subscriber has dispatched everything published before this call (a token
        published now comes back after all of it: one connection delivers in order), or after
        CONFIRM_TIMEOUT if Redis is away. A replay waits for this so live messages it overlaps are
        merged into it instead of arriving behind it."""
        token = f"fence:{self.pid}:{threading.get_ident()}:{time.monotonic_ns()}"
        done = threading.Event()
        with self._lock:
            self._fences[token] = done
        try:
            self.client.publish(KEEPALIVE_CHANNEL, token)
            done.wait(CONFIRM_TIMEOUT)
        except (redis.RedisError, OSError) as exc:
            log.warning("could not fence the subscription (%s)", exc)
        finally:
            with self._lock:
                self._fences.pop(token, None)

    def remove(self, connection: Connection, channel: str) -> None:
        with self._lock:
            members = self.subscribers.get(channel)
            if members is None:
                return
            members.discard(connection)
            if members:
                return
            del self.subscribers[channel]
            self.last_seen.pop(channel, None)
            self._requests.put(("unsubscribe", channel))

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "pid": self.pid,
                "subscriber_connected": self.connected,
                "connections": len(self.connections),
                "channels": len(self.subscribers),
                **self.stats,
            }

    # --- delivery ------------------------------------------------------------------------------
    def dispatch(self, channel: str, raw: str) -> None:
        """Hand one published message to every local connection following its channel."""
        if channel in self.subscribers:  # framed only if someone here follows the channel
            item = self._item(channel, raw)
            if item is not None:
                self._dispatch_item(channel, item)

    @staticmethod
    def _item(channel: str, raw: str) -> Item | None:
        """A published message as an Item to dispatch, framed once (None if it has no id)."""
        try:
            message_id = parse_stream_id(envelope_id(raw))
        except ValueError:
            log.warning("ignoring a message without an id on %s", channel)
            return None
        return Item(message_id, envelope_type(raw), text_frame(raw), envelope_channels(raw, channel))

    def revoke(self, user_id: int) -> None:
        """Close every local socket of this user (4401, after an error saying why)."""
        with self._lock:
            theirs = [c for c in self.connections if c.user_id == user_id]
        for connection in theirs:
            connection.revoke()

    def _dispatch_item(self, channel: str, item: Item) -> None:
        with self._lock:
            members = self.subscribers.get(channel)
            if not members:
                return
            self.last_seen[channel] = f"{item.id[0]}-{item.id[1]}"
            members = list(members)
        self.stats["messages"] += 1
        for connection in members:
            connection.offer(channel, item)
