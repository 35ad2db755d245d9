"""Reading a client's frames: a per-socket message budget, and bursts read together.

A client gets MESSAGE_BURST messages at once and MESSAGES_PER_SECOND after that (a token bucket);
past it the socket is told `too_many_messages` and closed with 4429. Frames that are already
waiting are read as one burst, so consecutive subscribes become one Redis round trip.
"""

from __future__ import annotations

import time
from typing import Any

MESSAGES_PER_SECOND = 50.0
MESSAGE_BURST = 600  # room to subscribe to every allowed channel (500) one message at a time
MAX_BURST_READ = 100  # frames taken at once before answering any of them
CLOSE_TOO_MANY_MESSAGES = 4429


class MessageBudget:
    """A token bucket per socket."""

    def __init__(self, rate: float = MESSAGES_PER_SECOND, burst: int = MESSAGE_BURST) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = float(burst), time.monotonic()

    def take(self) -> bool:
        """Spend one message; False once the client sends faster than its budget allows."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def waiting_frames(ws: Any, first: str) -> list[str]:
    """`first` and the frames that already arrived behind it (without waiting for more)."""
    frames = [first]
    while len(frames) < MAX_BURST_READ:
        raw = ws.receive(timeout=0)
        if raw is None:
            break
        frames.append(raw)
    return frames
