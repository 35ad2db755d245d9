"""Bounded caches kept per process in the Flask app: one eviction policy (the least recently used entry goes
first) and one lock for every such cache, since gthread workers share them between threads."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from flask import current_app


class ProcessCache:
    """A least-recently-used map; `capacity` comes with each `put`, so a caller's current limit applies."""

    def __init__(self) -> None:
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        """The value kept for `key` (now the most recently used), or None."""
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any, capacity: int) -> None:
        """Keep `value` for `key`, then drop the least recently used entries past `capacity`."""
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > capacity:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def process_cache(name: str) -> ProcessCache:
    """The app's cache called `name`, made on first use."""
    cache = current_app.extensions.get(name)
    if cache is None:
        cache = current_app.extensions.setdefault(name, ProcessCache())
    return cache
