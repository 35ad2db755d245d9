"""A socket's background workers (its sender, simple-websocket's reader) as bare greenlets under gevent.

Under gevent's monkey-patching a `threading.Thread` already runs on a greenlet, but builds a thread's
bookkeeping around it (a started Event, a state lock, the registry of live threads): about 80 us of web
CPU per start and join, twice per socket open. Elsewhere (a threaded server, the tests) it is the plain
`threading.Thread`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from api.green import gevent_patched


class GreenThread:
    """The part of `threading.Thread`'s interface a socket uses (start, join, is_alive, name, daemon),
    on one gevent greenlet."""

    def __init__(self, target: Callable[[], Any], name: str | None = None, daemon: bool | None = None) -> None:
        from gevent import Greenlet  # noqa: PLC0415  (only under gevent)

        self.name = name or f"green-thread({getattr(target, '__name__', 'target')})"
        self.daemon = True if daemon is None else daemon  # a greenlet never holds its process open anyway
        self._greenlet = Greenlet(target)

    def start(self) -> None:
        self._greenlet.start()

    def join(self, timeout: float | None = None) -> None:
        self._greenlet.join(timeout)

    def is_alive(self) -> bool:
        return bool(self._greenlet)  # started and not finished


def background_thread(target: Callable[[], Any], name: str | None = None, daemon: bool | None = None) -> Any:
    """A not yet started worker running `target`: a bare greenlet under gevent, else a `threading.Thread`
    (`daemon` None: inherited, as threading does). Fits simple-websocket's `thread_class` option."""
    if gevent_patched("threading"):  # a gevent worker after its monkey-patching
        return GreenThread(target, name, daemon)
    return threading.Thread(target=target, name=name, daemon=daemon)
