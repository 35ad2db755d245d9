"""WebSocket clients of the realtime benchmarks (bench/realtime.py, bench/dashboard_open.py): open many
sockets at once, and record the latency of the timed live messages they receive."""

from __future__ import annotations

import asyncio
import json
import time

import websockets


async def open_sockets(url: str, tokens: list[str], path: str, concurrency: int = 200) -> list:
    """Connect and wait for each socket's `subscribed`; returns the open sockets."""
    gate = asyncio.Semaphore(concurrency)

    async def one(token: str):
        async with gate:
            ws = await websockets.connect(
                f"{url}{path}?token={token}", ping_interval=None, max_queue=None, open_timeout=60
            )
            first = json.loads(await ws.recv())
            assert first["type"] == "subscribed", first
            return ws

    return await asyncio.gather(*(one(token) for token in tokens))


async def receive_live(sockets: list, samples: list[tuple[float, float]], stop: asyncio.Event) -> None:
    """Record (send time, latency) of every live message until `stop`."""

    async def drain(ws) -> None:
        try:
            while True:
                raw = await ws.recv()
                received = time.time()
                message = json.loads(raw)
                if message["type"] == "activity" and "t" in message["data"]:
                    samples.append((message["data"]["t"], received - message["data"]["t"]))
        except websockets.ConnectionClosed:
            return

    tasks = [asyncio.create_task(drain(ws)) for ws in sockets]
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def collect_latencies(sockets: list, seconds: float, latencies: list[float]) -> None:
    """Latencies of the timed activity messages these sockets receive in the next `seconds`."""
    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    await receive_live(sockets, samples, stop)
    latencies.extend(latency for _, latency in samples)
