"""psycopg's waits straight on gevent's event loop, for the web process's gevent workers.

Under gevent psycopg falls back to its `select.poll` wait, which gevent emulates by building a result object,
an event, a timeout and fresh watchers on every poll: 128-140 us of CPU per statement's round trip, against
88-95 us with one io watcher and one timer per wait (`bench/RESULTS.md`, "Ninth session, lead"). The protocol is psycopg's
own (`psycopg.waiting`): the generator yields what it waits for (read, write or both, as libev's bits) and is
sent what is ready, or nothing after `interval` seconds, so it can look at its connection again."""

from __future__ import annotations

from typing import Any

from psycopg import waiting
from psycopg.waiting import READY_NONE, READY_RW

from api.green import gevent_patched

_polling_wait = waiting.wait  # psycopg's own choice, kept for waits with a deadline


def wait_on_hub(gen: Any, fileno: int, interval: float | None = 0.0, timeout: float | None = None) -> Any:
    """Run psycopg's generator `gen` on socket `fileno`, each wait one switch to gevent's hub."""
    if timeout is not None or interval is None or interval <= 0:  # rare (cancelling, closing): psycopg's own
        return _polling_wait(gen, fileno, interval=interval, timeout=timeout)
    from gevent import get_hub, getcurrent

    hub, me = get_hub(), getcurrent()
    try:
        wanted = next(gen)
        io, timer = hub.loop.io(fileno, int(wanted)), hub.loop.timer(interval, interval)
        try:
            while True:
                io.start(me.switch, pass_events=True)  # called with libev's revents
                timer.again(me.switch, READY_NONE)  # `interval` from now (a one-shot restarted would fire at once)
                try:
                    ready = hub.switch() & READY_RW
                finally:
                    io.stop()  # a stopped watcher's pending call is cleared too: no late switch
                    timer.stop()
                wanted = gen.send(ready)
                if io.events != wanted:
                    io.events = int(wanted)
        finally:
            io.close()
            timer.close()
    except StopIteration as done:
        return done.value


def use_hub_waits() -> bool:
    """In a gevent-patched process (gunicorn's gevent workers), make psycopg wait on the hub; elsewhere (Celery's
    processes, the CLI, gthread workers) psycopg keeps its own wait. Returns whether it was installed."""
    if not gevent_patched("select"):
        return False
    waiting.wait = wait_on_hub
    return True
