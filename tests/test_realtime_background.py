"""A socket's background workers: a bare greenlet with Thread's interface under gevent, else a Thread."""

from __future__ import annotations

import threading

import gevent
import gevent.event

from api.green import gevent_patched
from api.realtime.background import GreenThread, background_thread


def test_green_thread_runs_its_target_once_and_reports_liveness() -> None:
    go, ran = gevent.event.Event(), []
    worker = GreenThread(lambda: (go.wait(), ran.append(1)), name="ws-sender")
    assert not worker.is_alive() and worker.name == "ws-sender" and worker.daemon
    worker.start()
    gevent.sleep(0)
    assert worker.is_alive()
    worker.join(0.01)  # a join that times out returns, as Thread.join does
    assert worker.is_alive() and ran == []
    go.set()
    worker.join(5)
    assert not worker.is_alive() and ran == [1]


def test_green_thread_name_fits_simple_websocket() -> None:
    """simple-websocket renames its reader by replacing '(_thread)' in the name it was given."""

    def _thread() -> None:
        pass

    assert "(_thread)" in GreenThread(_thread).name


def test_plain_threads_without_gevent_patching() -> None:
    assert not gevent_patched("threading")  # the test process is not monkey-patched
    worker = background_thread(lambda: None, name="ws-sender", daemon=True)
    assert isinstance(worker, threading.Thread) and worker.daemon and worker.name == "ws-sender"
    inherited = background_thread(lambda: None)
    assert isinstance(inherited, threading.Thread) and inherited.daemon == threading.current_thread().daemon
