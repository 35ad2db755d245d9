"""A real WebSocket client for tests (simple-websocket, the library flask-sock itself uses)."""
from __future__ import annotations

import json
import time
from typing import Any, Callable
from urllib.parse import urlencode

from simple_websocket import Client, ConnectionClosed


class Socket:
    """One client connection; every read has a timeout so a missing message fails the test."""

    def __init__(self, base_url: str, path: str, headers: dict[str, str] | None = None, **query: str) -> None:
        url = base_url.replace("http://", "ws://") + path + (f"?{urlencode(query)}" if query else "")
        self.ws = Client.connect(url, headers=headers or {})
        self.seen: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        raw = self.ws.receive(timeout=timeout)
        if raw is None:
            raise AssertionError(f"no message within {timeout}s (seen so far: {[m['type'] for m in self.seen]})")
        message = json.loads(raw)
        self.seen.append(message)
        return message

    def recv_type(self, kind: str, timeout: float = 10.0, where: Callable[[dict], bool] = lambda m: True) -> dict[str, Any]:
        """The next message of this type (and condition), skipping others."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.recv(max(0.01, deadline - time.monotonic()))
            if message["type"] == kind and where(message):
                return message

    def quiet(self, seconds: float = 0.5) -> list[dict[str, Any]]:
        """Everything that arrives within `seconds` (used to show that nothing else came)."""
        got, deadline = [], time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            raw = self.ws.receive(timeout=left)
            if raw is not None:
                got.append(json.loads(raw))
        return got

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
                raw = self.ws.receive(timeout=max(0.01, deadline - time.monotonic()))
                if raw is not None:
                    got.append(json.loads(raw))
        except ConnectionClosed as closed:
            return closed.reason, got
        raise AssertionError(f"the server did not close the socket within {timeout}s; got {got}")

    def close(self) -> None:
        try:
            self.ws.close()
        except ConnectionClosed:
            pass
