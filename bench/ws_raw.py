"""A lean WebSocket client for timing dashboard opens: RFC 6455 over a blocking socket, nothing else.

The `websockets` client bench/read_clients.py used before spent ~2 ms of CPU per open (a new asyncio event
loop per open, its protocol machinery, the close handshake awaited), on the same two cores as the server it
measures, from 8 threads sharing one GIL: a sample's latency held other clients' Python work. This one does
the same handshake and framing in a few hundred microseconds, so the figures are the server's. It checks what
a real client checks (the 101 status and Sec-WebSocket-Accept; every frame's header) and parses each text
message's JSON until dashboard_initial_data arrives; an `error` message is an error.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import struct
from urllib.parse import urlsplit

ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING = 0x1, 0x8, 0x9


class Connection:
    """One open WebSocket: read whole messages, close politely."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        key = base64.b64encode(os.urandom(16))
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = self._until(b"\r\n\r\n")
        status, _, rest = head.partition(b"\r\n")
        if not status.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"the upgrade was refused: {head[:300]!r}")
        accept = base64.b64encode(hashlib.sha1(key + ACCEPT_GUID).digest())
        if b"sec-websocket-accept: " + accept.lower() not in rest.lower():
            raise RuntimeError("the server's Sec-WebSocket-Accept does not match the key")

    def _recv_more(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def _until(self, marker: bytes) -> bytes:
        while (end := self.buffer.find(marker)) < 0:
            self._recv_more()
        found, self.buffer = self.buffer[:end], self.buffer[end + len(marker) :]
        return found

    def _exactly(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._recv_more()
        found, self.buffer = self.buffer[:n], self.buffer[n:]
        return found

    def _frame(self) -> tuple[bool, int, bytes]:
        """(final, opcode, payload) of the next frame; a server's frames are never masked."""
        first, second = self._exactly(2)
        if second & 0x80:
            raise RuntimeError("the server masked a frame")
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._exactly(8))
        return bool(first & 0x80), first & 0x0F, self._exactly(length)

    def _send(self, opcode: int, payload: bytes) -> None:
        """A client's frame (masked, as RFC 6455 requires); only short control frames are sent here."""
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def message(self) -> dict:
        """The next text message's JSON (fragments joined; pings answered)."""
        parts: list[bytes] = []
        while True:
            final, opcode, payload = self._frame()
            if opcode == PING:
                self._send(0xA, payload)
                continue
            if opcode == CLOSE:
                raise ConnectionError(f"the server closed the socket: {payload[:2].hex()} {payload[2:]!r}")
            parts.append(payload)
            if final:
                return json.loads(b"".join(parts))

    def close(self) -> None:
        """Send a close frame (1000) and wait for the server's, as a polite client does."""
        try:
            self._send(CLOSE, struct.pack("!H", 1000))
            while self._frame()[1] != CLOSE:
                pass
        except (ConnectionError, OSError):
            pass
        finally:
            self.sock.close()


def open_until_initial_data(url: str) -> dict:
    """Open `url` (a /ws/dashboard/ URL with its token), read until dashboard_initial_data, close; that message."""
    connection = Connection(url)
    try:
        while (message := connection.message())["type"] != "dashboard_initial_data":
            if message["type"] == "error":
                raise RuntimeError(f"the dashboard was refused: {message}")
        return message
    finally:
        connection.close()
