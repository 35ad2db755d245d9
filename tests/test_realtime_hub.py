"""The hub's subscription and its recovery after it loses Redis, against a real Redis reached through a proxy
that counts subscription connections, can cut every connection, and can hold back the hub's SUBSCRIBE.
A process has no subscription while its connection is being replaced, and Redis takes a subscription only
when it reads it: a message published in either gap reaches only the channel's stream, so the hub must
never drop its connection unnoticed, and must read its catch-up only after Redis confirmed the new one."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis

from api.realtime.hub import Hub
from api.realtime.streams import Item
from services.channels import watch
from services.publisher import publish
from tests.processes import wait_until


class HoldingProxy:
    """A TCP proxy to Redis. `cut()` closes every connection through it; after `hold(marker)`, data a client
    sends that contains `marker` waits (with everything after it on that connection) until `release()`.
    `answered` is set once a command containing `answer_marker` has been answered through the proxy."""

    def __init__(self, redis_url: str) -> None:
        parts = urlsplit(redis_url)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self.listener.getsockname()[1]}{parts.path}"
        self.marker: bytes | None = None
        self.held = threading.Event()
        self.released = threading.Event()
        self.answer_marker = b"XRANGE"
        self.answered = threading.Event()
        self.sockets: list[socket.socket] = []
        self.subscribing = 0  # connections that have carried a SUBSCRIBE
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, server]
            asked = threading.Event()  # a command with answer_marker went up this connection
            threading.Thread(target=self._upstream, args=(client, server, asked), daemon=True).start()
            threading.Thread(target=self._downstream, args=(server, client, asked), daemon=True).start()

    def _upstream(self, source: socket.socket, sink: socket.socket, asked: threading.Event) -> None:
        counted = False
        while chunk := self._recv(source):
            if not counted and b"SUBSCRIBE" in chunk:
                with self.lock:
                    self.subscribing += 1
                counted = True
            if self.marker is not None and self.marker in chunk:
                self.held.set()
                self.released.wait()
            if self.answer_marker in chunk:
                asked.set()
            if not self._send(sink, chunk):
                break
        self._close(source, sink)

    def _downstream(self, source: socket.socket, sink: socket.socket, asked: threading.Event) -> None:
        while chunk := self._recv(source):
            if not self._send(sink, chunk):
                break
            if asked.is_set():
                self.answered.set()
        self._close(source, sink)

    @staticmethod
    def _recv(sock: socket.socket) -> bytes:
        try:
            return sock.recv(65536)
        except OSError:
            return b""

    @staticmethod
    def _send(sock: socket.socket, data: bytes) -> bool:
        try:
            sock.sendall(data)
            return True
        except OSError:
            return False

    @staticmethod
    def _close(*sockets: socket.socket) -> None:
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def hold(self, marker: bytes) -> None:
        self.marker = marker
        self.held.clear()
        self.released.clear()
        self.answered.clear()

    def release(self) -> None:
        self.marker = None
        self.released.set()

    def cut(self) -> None:
        with self.lock:
            sockets, self.sockets = self.sockets, []
        self._close(*sockets)

    def close(self) -> None:
        self.release()
        self.listener.close()
        self.cut()


class Inbox:
    """Stands in for a socket's Connection: records what the hub hands it."""

    user_id = None

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.resyncs: list[str] = []

    def offer(self, channel: str, item: Item) -> None:
        self.items.append(item)

    def resync(self, channel: str, reason: str) -> None:
        self.resyncs.append(channel)

    def numbers(self) -> list[Any]:
        return [int(item.frame.split(b'"n":', 1)[1].split(b"}", 1)[0]) for item in self.items]


@pytest.fixture
def proxy(redis_url: str):
    held = HoldingProxy(redis_url)
    yield held
    held.close()


def test_a_message_published_before_redis_takes_the_hubs_new_subscription_is_delivered(redis_url, proxy):
    """The hub sends SUBSCRIBE again after losing Redis; until Redis has read it, a message is only in the
    stream. The hub must read its catch-up after Redis confirmed the subscription, not merely after it
    sent it: here Redis reads the SUBSCRIBE only after the message was published."""
    data = redis.Redis.from_url(redis_url)
    channel = f"learner:hub-{uuid.uuid4().hex[:12]}"
    hub = Hub(proxy.url)
    hub.start()
    inbox = Inbox()
    hub.add(inbox, [channel])  # type: ignore[arg-type]  (returns once Redis confirmed the subscription)
    try:
        time.sleep(0.3)  # a client that dropped its first subscription connection has replaced it by now
        assert proxy.subscribing == 1, "one subscription connection, never silently replaced by another"
        publish(data, [("activity", channel, {"n": 0})])
        wait_until(lambda: inbox.numbers() == [0], 10, "the first message")

        proxy.hold(b"SUBSCRIBE")
        proxy.cut()  # a network blip: the hub reconnects and subscribes again, which Redis does not read yet
        assert proxy.held.wait(15), "the hub never subscribed again"
        # Whatever the hub reads from the streams before Redis takes its SUBSCRIBE, it has read by now
        # (a hub that waits for the confirmation reads nothing yet, so this only waits the second out).
        proxy.answered.wait(1.0)
        publish(data, [("activity", channel, {"n": 1})])
        proxy.release()
        wait_until(lambda: hub.status()["subscriber_connected"], 15, "the hub to be subscribed again")
        publish(data, [("activity", channel, {"n": 2})])
        deadline = time.monotonic() + 10
        while 2 not in inbox.numbers() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # a duplicate would arrive right behind
        assert inbox.numbers() == [0, 1, 2], "each message once, in order"
        assert inbox.resyncs == [], "a blip loses nothing, so no socket is told to refetch"
    finally:
        hub.remove(inbox, channel)  # type: ignore[arg-type]
        watch(data, [channel], -1)
