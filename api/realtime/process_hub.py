"""This process's one hub: created on first use after gunicorn forks (never in the master)."""

from __future__ import annotations

import os
import threading
from typing import Any

from api.realtime.hub import Hub

_hub: Hub | None = None
_hub_lock = threading.Lock()


def process_hub(redis_url: str) -> Hub:
    """This process's hub, started on first use (after gunicorn forks, never in the master)."""
    global _hub
    with _hub_lock:
        if _hub is None or _hub.pid != os.getpid():
            _hub = Hub(redis_url)
        _hub.start()
        return _hub


def realtime_status() -> dict[str, Any]:
    """The hub's state in this process, or that no socket has connected to it yet."""
    hub = _hub
    if hub is None or hub.pid != os.getpid():
        return {"pid": os.getpid(), "started": False, "connections": 0}
    return {"started": True, **hub.status()}
