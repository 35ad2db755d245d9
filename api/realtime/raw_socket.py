"""The two places we reach under simple-websocket's public API, kept here so an upgrade touches one file.

Why: fan-out frames each published message once and writes the same bytes to every socket, which
needs the underlying socket's `send` (simple-websocket only offers per-message framing); a slow
client is cut by shutting the raw socket down, the one way to unblock a sender stuck in a full write;
and simple-websocket closes the TCP socket right after its close frame, so a client still sending
gets a reset that throws away the close frame and the error before it: we half-close and drain.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from simple_websocket import ConnectionClosed
from simple_websocket.ws import Base


def frame_writer(ws: Any) -> Callable[[bytes], int]:
    """Write already-framed bytes; the wrapper serializes them with the library's pings and close frame."""
    return ws.sock.send


def shutdown(ws: Any) -> None:
    """Shut the raw socket down so a blocked sender returns; a socket already gone is fine."""
    try:
        ws.sock.raw.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError):
        pass


def close_gracefully(ws: Any, code: int, reason: str, linger: float = 2.0) -> None:
    """Send the close frame, stop writing, and read (discarding) what the client still sends until it
    closes too or `linger` passes, so the client receives our last messages and the close code."""
    if not isinstance(ws, Base) or not hasattr(ws.sock, "raw"):
        ws.close(code, reason)
        return
    raw = ws.sock.raw
    ws.sock.lingering = True  # the library's reader closes the socket when it stops: not yet
    try:
        Base.close(ws, reason=code, message=reason)  # the frame, without simple-websocket's immediate close
        raw.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + linger
        raw.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                if not raw.recv(65536):
                    break
            except TimeoutError:
                continue
    except (OSError, ConnectionClosed):
        pass
    finally:
        ws.sock.lingering = False
        ws.sock.close()
