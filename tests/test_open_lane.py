"""Socket opens defer to live delivery: under gevent a step of an open runs when the loop is idle."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from api.realtime import open_lane

ROOT = Path(__file__).resolve().parent.parent

# A gevent process like a web worker: one greenlet keeps the loop busy (a live burst: each step yields
# with sleep(0), as the hub does between messages) while another takes an open's step.
SCRIPT = """
from gevent import monkey; monkey.patch_all()
import sys, time, gevent
from api.realtime import open_lane
steps, busy_seconds, order = int(sys.argv[1]), float(sys.argv[2]), []
def live():
    began = time.monotonic()
    for _ in range(steps):
        order.append("live")
        while time.monotonic() - began < busy_seconds:
            gevent.sleep(0)
        gevent.sleep(0)
def opener():
    began = time.monotonic()
    open_lane.yield_to_live() if sys.argv[3] == "lane" else None
    order.append("open")
    print(order.index("open"), round(time.monotonic() - began, 3))
gevent.joinall([gevent.spawn(live), gevent.spawn(opener)])
"""


def run(steps: int, busy_seconds: float, mode: str) -> tuple[int, float]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(steps), str(busy_seconds), mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    position, waited = done.stdout.split()
    return int(position), float(waited)


def test_an_open_waits_until_the_ready_live_work_is_done():
    assert run(200, 0.0, "lane")[0] == 200  # every live step went first
    assert run(200, 0.0, "none")[0] < 200  # the control: without the lane the open takes its turn at once


def test_a_loop_that_is_never_idle_still_opens_after_the_longest_wait():
    position, waited = run(2, 3.0, "lane")  # live work keeps the loop busy for 3 s
    assert position < 2
    assert open_lane.MAX_IDLE_WAIT_SECONDS <= waited < 2.0


def test_without_gevent_there_is_no_shared_loop_to_wait_for():
    began = time.monotonic()
    with open_lane.opening_turn():
        open_lane.yield_to_live()
    assert time.monotonic() - began < 0.05
