"""The two places we reach under simple-websocket's public API, kept here so an upgrade touches one file.

Why: fan-out frames each published message once and writes the same bytes to every socket, which
needs the underlying socket's `send` (simple-websocket only offers per-message framing); and a slow
client is cut by shutting the raw socket down, the one way to unblock a sender stuck in a full write.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any


def frame_writer(ws: Any) -> Callable[[bytes], int]:
    """Write already-framed bytes; the wrapper serializes them with the library's pings and close frame."""
    return ws.sock.send


def shutdown(ws: Any) -> None:
    """Shut the raw socket down so a blocked sender returns; a socket already gone is fine."""
    try:
        ws.sock.raw.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError):
        pass
