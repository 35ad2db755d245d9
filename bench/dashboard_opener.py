"""bench/dashboard_open.py's dashboard client: opens the educator's /ws/dashboard/ and times the initial data,
from a process of its own so the process that measures live latency only measures."""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import time

import websockets

from bench.web_process import lower_priority


async def open_dashboard(url: str, token: str, deadline: float) -> float:
    """Seconds from starting the handshake to dashboard_initial_data; inf if it did not come by `deadline`."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(max(0.1, deadline - time.time())):
            async with websockets.connect(
                f"{url}/ws/dashboard/?token={token}", ping_interval=None, max_queue=None, open_timeout=None
            ) as ws:
                while True:
                    message = json.loads(await ws.recv())
                    if message["type"] == "dashboard_initial_data":
                        return time.perf_counter() - started
                    if message["type"] == "error":
                        raise RuntimeError(f"the dashboard was refused: {message}")
    except TimeoutError:
        return math.inf
    except (OSError, websockets.WebSocketException) as exc:
        print(f"      a dashboard failed: {type(exc).__name__} {exc}", flush=True)
        return math.inf


async def open_dashboards(url: str, token: str, offsets: list[float], deadline: float) -> list[float]:
    """Open one dashboard at each offset (seconds from now), without waiting for earlier ones."""
    started, tasks = time.perf_counter(), []
    for offset in sorted(offsets):
        await asyncio.sleep(max(0.0, started + offset - time.perf_counter()))
        tasks.append(asyncio.create_task(open_dashboard(url, token, deadline)))
    return list(await asyncio.gather(*tasks))


def open_in_this_process(url: str, token: str, offsets: list[float], deadline: float, out, niceness: int | str) -> None:
    """A separate client process opens the dashboards, so the measuring process only measures (reading 20
    initial data messages here delayed its own receiving, and that was counted as live latency)."""
    if niceness:
        lower_priority(0, niceness)
    out.put(asyncio.run(open_dashboards(url, token, offsets, deadline)))


async def opened_elsewhere(
    url: str, token: str, offsets: list[float], deadline: float, niceness: int | str = 0
) -> list[float]:
    """The dashboards' times from an opener process (what open_dashboards returns in this one)."""
    out: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=open_in_this_process, args=(url, token, offsets, deadline, out, niceness))
    process.start()
    while process.is_alive() and out.empty():
        await asyncio.sleep(0.05)
    times = out.get(timeout=5)
    process.join()
    return times
