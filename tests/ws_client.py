"""A real WebSocket client for tests: the `websockets` library's synchronous client.

(simple-websocket's client was tried first: when the server's first frame arrives in the same TCP
read as the 101 response, it keeps the frame buffered until more data comes, so tests stalled.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


class Socket:
    """One client connection; every read has a timeout so a missing message fails the test."""

    def __init__(self, base_url: str, path: str, headers: dict[str, str] | None = None, **query: str) -> None:
        url = base_url.replace("http://", "ws://") + path + (f"?{urlencode(query)}" if query else "")
        headers = dict(headers or {})
        origin = headers.pop("Origin", None)
        self.ws = connect(
            url,
            additional_headers=headers,
            origin=origin,
            ping_interval=None,
            proxy=None,
            max_size=None,
            max_queue=None,
            open_timeout=10,
        )
        self.seen: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        try:
            raw = self.ws.recv(timeout=timeout)
        except TimeoutError:
            raise AssertionError(
                f"no message within {timeout}s (seen so far: {[m['type'] for m in self.seen]})"
            ) from None
        message = json.loads(raw)
        self.seen.append(message)
        return message

    def recv_type(
        self, kind: str, timeout: float = 10.0, where: Callable[[dict], bool] = lambda m: True
    ) -> dict[str, Any]:
        """The next message of this type (and condition), skipping others."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.recv(max(0.01, deadline - time.monotonic()))
            if message["type"] == kind and where(message):
                return message

    def fence(self) -> list[dict[str, Any]]:
        """Ping and collect everything up to the pong: what the server queued before it."""
        self.send({"type": "ping"})
        before = []
        while (message := self.recv())["type"] != "pong":
            before.append(message)
        return before

    def closed_with(self, timeout: float = 10.0) -> tuple[int | None, list[dict[str, Any]]]:
        """Read until the server closes; returns the close code and the messages before it."""
        got, deadline = [], time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                try:
                    got.append(json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic()))))
                except TimeoutError:
                    break
        except ConnectionClosed as closed:
            return (closed.rcvd.code if closed.rcvd else None), got
        raise AssertionError(f"the server did not close the socket within {timeout}s; got {got}")

    def close(self) -> None:
        self.ws.close()
