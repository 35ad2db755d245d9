"""Verified bearer tokens, remembered for a few seconds per web process: an integration sends the same
token with every request, and verifying it (signature, then the user's row) was a fifth of the CPU of
a single-event POST.

An entry is used only while all of these hold:
  * the token has not expired (its own `exp`, exactly as PyJWT would judge it);
  * it was verified less than AUTH_CACHE_SECONDS ago (bounds a change made behind the API's back,
    e.g. an UPDATE typed into psql);
  * the credentials generation in Redis is the one it was verified under. Every change of access the
    API or the CLI makes (revocation, deactivation, a new role) replaces the generation after its
    commit (services.credentials.credentials_changed), so it takes effect on the next request in every
    web process, as before. When Redis cannot be read, nothing is served from the cache.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

P = TypeVar("P")


@dataclass(frozen=True)
class _Entry(Generic[P]):
    principal: P
    expires_at: float  # the token's `exp`, epoch seconds
    fresh_until: float  # monotonic: when this verification must be redone anyway
    generation: bytes


class TokenCache(Generic[P]):
    """A bounded LRU map: token -> (principal, expiry), valid under one credentials generation."""

    def __init__(self, size: int, seconds: float) -> None:
        self.size = size
        self.seconds = seconds
        self._entries: OrderedDict[str, _Entry[P]] = OrderedDict()
        self._lock = threading.Lock()  # gthread workers share it; under gevent it never blocks

    def get(self, token: str, generation: bytes) -> tuple[P, float] | None:
        """The remembered (principal, expiry) of a token, or None if it must be verified again."""
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            if (
                entry.generation != generation
                or time.monotonic() >= entry.fresh_until
                or time.time() >= entry.expires_at
            ):
                del self._entries[token]
                return None
            self._entries.move_to_end(token)
            return entry.principal, entry.expires_at

    def put(self, token: str, principal: P, expires_at: float, generation: bytes) -> None:
        """Remember a token just verified under `generation`; the least recently used entry makes room."""
        if self.size <= 0 or self.seconds <= 0:
            return
        entry = _Entry(principal, expires_at, time.monotonic() + self.seconds, generation)
        with self._lock:
            self._entries[token] = entry
            self._entries.move_to_end(token)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
