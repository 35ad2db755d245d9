"""psycopg's waits straight on gevent's event loop, for the web process's gevent workers.

Under gevent psycopg falls back to its `select.poll` wait, which gevent emulates by building a result object,
an event, a timeout and fresh watchers on every poll: 128-140 us of CPU per statement's round trip, against
88-95 us with one io watcher and one timer per wait (`bench/RESULTS.md`, "Ninth session, lead"). The protocol is psycopg's
own (`psycopg.waiting`): the generator yields what it waits for (read, write or both, as libev's bits) and is
sent what is ready, or nothing after `interval` seconds, so it can look at its connection again.

A wait that includes writing (a pipeline asks for read-or-write before each command it sends) is first asked of
the socket with one zero-timeout poll: it is nearly always writable, and then the generator goes on at once,
without a watcher, a timer and two greenlet switches through the hub. Only a socket that can do nothing yet
is waited for on the hub."""

from __future__ import annotations

import select
from typing import Any

from psycopg import waiting
from psycopg.waiting import READY_NONE, READY_R, READY_RW, READY_W, WAIT_W

from api.green import gevent_patched

_polling_wait = waiting.wait  # psycopg's own choice, kept for waits with a deadline
_poll: Any = select.poll  # the unpatched poll once use_hub_waits has run (a zero timeout never blocks)
_POLL_MASKS = {1: select.POLLIN, 2: select.POLLOUT, 3: select.POLLIN | select.POLLOUT}  # psycopg's Wait R, W, RW


def ready_now(fileno: int, wanted: int) -> int:
    """What of `wanted` socket `fileno` can do right now (psycopg's Ready bits; 0: nothing, or only an error,
    which the hub's wait then reports as it always did), asked with one poll system call that does not block."""
    poller = _poll()
    poller.register(fileno, _POLL_MASKS[wanted])
    found = poller.poll(0)
    if not found:
        return 0
    events = found[0][1]
    return (READY_R if events & select.POLLIN else 0) | (READY_W if events & select.POLLOUT else 0)


def wait_on_hub(gen: Any, fileno: int, interval: float | None = 0.0, timeout: float | None = None) -> Any:
    """Run psycopg's generator `gen` on socket `fileno`; a wait the socket cannot answer at once is one switch
    to gevent's hub."""
    if timeout is not None or interval is None or interval <= 0:  # rare (cancelling, closing): psycopg's own
        return _polling_wait(gen, fileno, interval=interval, timeout=timeout)
    from gevent import get_hub, getcurrent

    io: Any = None
    timer: Any = None
    try:
        wanted = next(gen)
        while True:
            ready = ready_now(fileno, wanted) if wanted & WAIT_W else 0
            if not ready:
                if io is None:
                    hub, me = get_hub(), getcurrent()
                    io, timer = hub.loop.io(fileno, int(wanted)), hub.loop.timer(interval, interval)
                elif io.events != wanted:
                    io.events = int(wanted)
                io.start(me.switch, pass_events=True)  # called with libev's revents
                timer.again(me.switch, READY_NONE)  # `interval` from now (a one-shot restarted would fire at once)
                try:
                    ready = hub.switch() & READY_RW
                finally:
                    io.stop()  # a stopped watcher's pending call is cleared too: no late switch
                    timer.stop()
            wanted = gen.send(ready)
    except StopIteration as done:
        return done.value
    finally:
        if io is not None:
            io.close()
            timer.close()


def use_hub_waits() -> bool:
    """In a gevent-patched process (gunicorn's gevent workers), make psycopg wait on the hub; elsewhere (Celery's
    processes, the CLI, gthread workers) psycopg keeps its own wait. Returns whether it was installed."""
    global _poll
    if not gevent_patched("select"):
        return False
    from gevent.monkey import get_original

    _poll = get_original("select", "poll")
    waiting.wait = wait_on_hub
    return True
