"""Opening a socket is background work: under gevent it runs when the loop has no live message to send.

One web process delivers every live message of its sockets on one gevent loop. Opening a socket
(token check, channel look-up, subscriptions, a dashboard's initial data) is CPU work on that same
loop, ~10-25 ms for a dashboard; twenty opened in the same instant used to delay every live message
of the process by a quarter to half a second (bench/dashboard_open.py, phase B2). Here each step of
an open waits until the loop is idle, i.e. has no socket, timer or greenlet ready to run, and at most
OPENS_AT_ONCE opens take steps at a time, so a burst of opens fills the loop's idle time instead of
queueing ahead of live messages. A loop that is never idle still opens sockets: each wait ends after
MAX_IDLE_WAIT_SECONDS. Under thread workers there is no shared loop, and these are no-ops.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

OPENS_AT_ONCE = 2  # opens taking steps at once in one web process; the rest wait their turn
MAX_IDLE_WAIT_SECONDS = 0.25  # how long one step defers to live work before it runs anyway

_locks: dict[str, threading.BoundedSemaphore] = {}


def _gevent_loop_serves() -> bool:
    """True in a gevent web process (its sockets are patched), where one loop serves every socket."""
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover  (gevent is a requirement; thread workers still import it)
        return False
    return bool(monkey.is_module_patched("socket"))


def yield_to_live() -> None:
    """Wait until the gevent loop has nothing else ready (at most MAX_IDLE_WAIT_SECONDS): the live
    messages and replies waiting to go out are sent before the next step of an open. One waiter at a
    time: the loop wakes every idle waiter in the same round, so twenty handshakes waiting together
    would run back to back instead of one per idle moment."""
    if not _gevent_loop_serves():
        return
    import gevent

    with gevent.Timeout(MAX_IDLE_WAIT_SECONDS, False), _lock("idle", 1):  # the bound covers the queue too
        gevent.idle()


def _lock(name: str, size: int) -> threading.BoundedSemaphore:
    """Made at first use, after fork and gevent's patching, so under gevent it is cooperative."""
    if name not in _locks:
        _locks[name] = threading.BoundedSemaphore(size)
    return _locks[name]


@contextmanager
def opening_turn() -> Iterator[None]:
    """One of OPENS_AT_ONCE turns to open a socket, begun when the loop is idle; the first opens of a
    burst finish first instead of all finishing together. Not reentrant: take it once per open."""
    with _lock("turns", OPENS_AT_ONCE):
        yield_to_live()
        yield
