"""The hub's background thread: one Redis pub/sub connection, kept alive, reconnected and caught up.

Only this thread touches the pub/sub connection (redis-py's PubSub breaks when one greenlet writes while
another reads): handlers queue (un)subscribe requests, which the loop applies between reads. On a lost
connection it reconnects with backoff, resubscribes to every followed channel and waits until Redis has
confirmed that, then tells sockets to resync if Redis restarted, and otherwise replays each channel's
stream from the last id it dispatched.
A mixin of api.realtime.hub.Hub: it shares the hub's maps and lock, declared below.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import redis

from api.realtime.protocol import StreamId
from api.realtime.streams import Item, read_since
from services.channels import PUBSUB_PREFIX, REVOCATION_CHANNEL, WATCH_SECONDS, watch

log = logging.getLogger("api.realtime.hub")  # the hub's log, as before the split
RECONNECT_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0)  # seconds; the last one repeats
CATCH_UP_MARGIN_MS = 5000  # replay this much before the moment the subscription was lost
WATCH_REFRESH_SECONDS = WATCH_SECONDS / 6
SILENCE_PING_SECONDS = 10.0  # ping Redis after this long without a message; reconnect if no answer as long again
POLL_SECONDS = 0.05  # the subscriber takes (un)subscribe requests at least this often
KEEPALIVE_CHANNEL = PUBSUB_PREFIX.rstrip(":") + "-hub"  # always subscribed, so the connection always exists


class Subscriber:
    """The subscriber loop of the hub. The state it shares with the hub is set in Hub.__init__; it hands
    messages to the hub's dispatch, _item, _dispatch_item and revoke."""

    redis_url: str
    client: Any
    connected: bool
    stats: dict[str, int]
    subscribers: dict[str, set[Any]]
    last_seen: dict[str, str]
    _subscribed: set[str]
    _confirmations: dict[str, threading.Event]
    _fences: dict[str, threading.Event]
    _requests: queue.SimpleQueue[tuple[str, str]]
    _lost_at_ms: int | None
    _run_id: str | None
    _lock: threading.Lock

    def _connect(self) -> tuple[Any, list[tuple[str, str]]]:
        """A fresh subscription connection carrying every channel followed here, returned once Redis has
        confirmed all of it (with the channel messages read meanwhile): only then are sockets told to
        resync and the streams read for the catch-up, so nothing published in between is missed."""
        # Not Redis.from_url: a client made so owns its pool and closes it, with the subscription's connection,
        # as soon as it is garbage (when this method returns); redis-py then silently reconnects and subscribes
        # again at the next read, and what is published in that gap is lost, with no catch-up and no resync.
        pool = redis.ConnectionPool.from_url(self.redis_url, socket_connect_timeout=2, socket_keepalive=True)
        client = redis.Redis(connection_pool=pool)  # the pool lives as long as the PubSub that holds it
        run_id = client.info("server")["run_id"]
        restarted = self._run_id not in (None, run_id)
        pubsub = client.pubsub()
        with self._lock:
            channels = list(self.subscribers)
            for channel in channels:
                self._confirmations.setdefault(channel, threading.Event())
            self._subscribed = set(channels)
        if channels:
            watch(self.client, channels)
        for start in range(0, len(channels), 1000):
            pubsub.subscribe(*[PUBSUB_PREFIX + c for c in channels[start : start + 1000]])
        pubsub.subscribe(KEEPALIVE_CHANNEL, REVOCATION_CHANNEL)
        held = self._await_subscriptions(pubsub)
        if restarted:
            self._tell_resync()
        # Remembered only now: if this attempt failed above, the next one must still see the restart.
        self._run_id = run_id
        return pubsub, held

    def _await_subscriptions(self, pubsub: Any) -> list[tuple[str, str]]:
        """Read until Redis confirms the last SUBSCRIBE sent (it answers in order, so all earlier ones are in
        effect too). Channel messages read meanwhile are returned for the catch-up to merge; the rest
        (confirmations, fences, revocations) are handled as usual."""
        held: list[tuple[str, str]] = []
        deadline = time.monotonic() + SILENCE_PING_SECONDS
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=POLL_SECONDS)
            if message is None:
                continue
            if message["type"] == "message" and message["channel"].startswith(PUBSUB_PREFIX.encode()):
                held.append((message["channel"].decode()[len(PUBSUB_PREFIX) :], message["data"].decode()))
                continue
            self._on_message(message)
            if message["type"] == "subscribe" and message["channel"] == REVOCATION_CHANNEL.encode():
                return held
        raise redis.ConnectionError("Redis did not confirm the subscriptions")

    def _apply_requests(self, pubsub: Any) -> None:
        """(Un)subscribe what handlers asked for, skipping requests that later ones overtook."""
        subscribe, unsubscribe = [], []
        while True:
            try:
                kind, channel = self._requests.get_nowait()
            except queue.Empty:
                break
            with self._lock:
                followed = channel in self.subscribers
                if kind == "unsubscribe" and not followed and channel in self._subscribed:
                    self._subscribed.discard(channel)
                    unsubscribe.append(channel)
                elif kind == "subscribe" and followed and channel in self._subscribed and channel not in subscribe:
                    subscribe.append(channel)
        if unsubscribe:
            pubsub.unsubscribe(*[PUBSUB_PREFIX + c for c in unsubscribe])
        if subscribe:
            try:
                watch(self.client, subscribe)
            except (redis.RedisError, OSError) as exc:  # the periodic refresh watches them again
                log.warning("could not mark %d channel(s) watched (%s)", len(subscribe), exc)
            pubsub.subscribe(*[PUBSUB_PREFIX + c for c in subscribe])

    def _tell_resync(self) -> None:
        """Redis restarted: its streams, and whatever was published before we subscribed again, are
        gone. Every socket keeps its connection and is told to refetch each channel it follows."""
        with self._lock:
            followed = [(channel, list(members)) for channel, members in self.subscribers.items()]
            self.last_seen.clear()
        for channel, members in followed:
            for connection in members:
                connection.resync(channel, "Redis restarted; messages may have been lost: refetch over REST")
        log.warning("Redis restarted: told %d channel(s) to resync", len(followed))

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "message" and message["channel"] == REVOCATION_CHANNEL.encode():
            self.revoke(int(message["data"]))
        elif kind == "message" and message["channel"] == KEEPALIVE_CHANNEL.encode():
            with self._lock:
                done = self._fences.get(message["data"].decode())
            if done is not None:
                done.set()
        elif kind == "message":
            channel = message["channel"].decode()[len(PUBSUB_PREFIX) :]
            self.dispatch(channel, message["data"].decode())
            time.sleep(0)  # let the senders drain between messages of a burst (a gevent yield)
        elif kind == "subscribe":
            name = message["channel"].decode()
            with self._lock:
                confirmed = self._confirmations.pop(name[len(PUBSUB_PREFIX) :], None)
            if confirmed is not None:
                confirmed.set()

    def _listen(self, pubsub: Any) -> None:
        heard = refreshed = time.monotonic()
        pinged: float | None = None
        while True:
            self._apply_requests(pubsub)
            message = pubsub.get_message(timeout=POLL_SECONDS)
            now = time.monotonic()
            if message is not None:
                heard, pinged = now, None
                self._on_message(message)
            if pinged is not None and now - pinged > SILENCE_PING_SECONDS:
                raise redis.ConnectionError("no answer to ping on the subscription connection")
            if pinged is None and now - heard > SILENCE_PING_SECONDS:
                pubsub.ping()
                pinged = now
            if now - refreshed > WATCH_REFRESH_SECONDS:
                with self._lock:
                    channels = list(self.subscribers)
                watch(self.client, channels)
                refreshed = now

    def _run(self) -> None:
        attempt = 0
        while True:
            pubsub = None
            try:
                pubsub, held = self._connect()
                self.connected, attempt = True, 0
                self._catch_up(held)
                self._listen(pubsub)
            except (redis.RedisError, OSError) as exc:
                self._lost(exc)
                time.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
                attempt += 1
            except Exception:  # noqa: BLE001  (a bug must not silently end delivery for the process)
                log.exception("realtime subscriber failed; restarting it")
                self._lost(None)
                time.sleep(1.0)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except (redis.RedisError, OSError):
                        pass

    def _lost(self, exc: Exception | None) -> None:
        with self._lock:
            self._subscribed = set()
            waiting, self._confirmations = list(self._confirmations.values()), {}
        for confirmed in waiting:
            confirmed.set()  # nobody waits on a dead connection; the catch-up replays for them
        if self.connected:
            self._lost_at_ms = int(time.time() * 1000)
            self.stats["reconnects"] += 1
            log.warning("realtime subscriber lost Redis (%s); reconnecting", exc)
        self.connected = False

    def _catch_up(self, held: list[tuple[str, str]]) -> None:
        """Dispatch the messages read while the subscriptions were confirmed; after a reconnect, merged
        (in id order, each once) with what each followed channel's stream received while we were away."""
        missed: dict[tuple[StreamId, str], Item] = {}
        for channel, raw in held:
            item = self._item(channel, raw)
            if item is not None:
                missed[(item.id, channel)] = item
        if self._lost_at_ms is not None:
            fallback = f"{max(0, self._lost_at_ms - CATCH_UP_MARGIN_MS)}-0"
            with self._lock:
                channels = {name: self.last_seen.get(name, fallback) for name in self.subscribers}
            for channel, after in channels.items():
                for item in read_since(self.client, channel, after):
                    missed.setdefault((item.id, channel), item)
            log.info(
                "realtime subscriber reconnected; replaying %d message(s) on %d channel(s)", len(missed), len(channels)
            )
        for (_, channel), item in sorted(missed.items(), key=lambda entry: entry[0]):  # as they would arrive live
            self._dispatch_item(channel, item)
        self._lost_at_ms = None
