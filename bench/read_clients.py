"""Timed read clients for bench/reads.py: HTTP GETs, a WebSocket opened until its initial data, and the
plain SQL floor; one table row compares an API read with its floor at the same concurrency."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable

import psycopg
import requests
import websockets

from bench.common import percentile, processes_cpu
from bench.ws_raw import open_until_initial_data


def timed_calls(calls: list[Callable[[], object]], runs: int) -> list[float]:
    """Run each client's call `runs` times (one thread per client, all at once); milliseconds per call."""
    samples: list[float] = []
    lock, barrier = threading.Lock(), threading.Barrier(len(calls))

    def client(call: Callable[[], object]) -> None:
        call()  # warm: connection, token cache
        barrier.wait()
        mine = []
        for _ in range(runs):
            started = time.perf_counter()
            call()
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=client, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def http_call(base: str, paths: list[str], token: str) -> Callable[[], object]:
    """One client (its own keep-alive session) GETting the paths one after another (an overview page)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def call() -> None:
        for path in paths:
            response = session.get(base + path, timeout=60)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")

    return call


OPEN: list[psycopg.Connection] = []  # the floor clients' connections, closed after each measurement


def sql_call(dsn: str, sql: str, params: dict) -> Callable[[], object]:
    """One client (its own connection, closed by close_clients) running the floor query, fetching every row."""
    connection = psycopg.connect(dsn, autocommit=True)
    OPEN.append(connection)

    def call() -> None:
        connection.execute(sql, params, binary=True).fetchall()

    return call


def ws_call(base: str, token: str, client: str = "raw") -> Callable[[], object]:
    """One client opening /ws/dashboard/ until dashboard_initial_data arrives (a new socket each time): with the
    lean client of bench/ws_raw.py (`raw`), or with the `websockets` library's (what this bench used before)."""
    url = base.replace("http", "ws") + f"/ws/dashboard/?token={token}"
    if client == "raw":
        return lambda: open_until_initial_data(url)

    async def open_once() -> None:
        async with websockets.connect(url, ping_interval=None, max_queue=None) as ws:
            while json.loads(await ws.recv())["type"] != "dashboard_initial_data":
                pass

    return lambda: asyncio.run(open_once())


def stats(samples: list[float]) -> tuple[float, float, float]:
    return percentile(samples, 50), percentile(samples, 95), percentile(samples, 99)


def measure(
    name: str,
    api: Callable[[], Callable],
    floor: Callable[[], Callable],
    runs: int,
    workers: list,
    bare: Callable[[], Callable] | None = None,
) -> list[str]:
    """Table rows: one client and 8 clients, API and floor, the p95 ratio, and the web workers' CPU per call
    (user + system of every worker process of the web tier: what the load of the machine does not inflate
    much) and the load generator's (this process: it shares the machine's cores with the server); with `bare`
    (a second floor: the main query served by a bare endpoint of the same web process), its figures and the
    API's p95 ratio to it in a last column, beside the raw-SQL floor."""
    rows = []
    for clients in (1, 8):
        per = max(5, runs // clients) if clients > 1 else runs
        before, client_before = processes_cpu(workers), time.process_time()
        a = stats(timed_calls([api() for _ in range(clients)], per))
        calls = per * clients + clients  # + the warm-up calls
        cpu, client_cpu = (
            (processes_cpu(workers) - before) * 1000 / calls,
            (time.process_time() - client_before) * 1000 / calls,
        )
        f = stats(timed_calls([floor() for _ in range(clients)], per))
        while OPEN:  # the shared server's connection slots are few
            OPEN.pop().close()
        second = "-"
        if bare is not None:
            b = stats(timed_calls([bare() for _ in range(clients)], per))
            second = f"{b[0]:.2f} / {b[1]:.2f} / {b[2]:.2f} ({a[1] / b[1]:.1f}x)"
        rows.append(
            f"| {name} | {clients} | {a[0]:.1f} / {a[1]:.1f} / {a[2]:.1f} | {f[0]:.2f} / {f[1]:.2f} / {f[2]:.2f} "
            f"| {a[1] / f[1]:.1f}x | {cpu:.1f} | {client_cpu:.2f} | {second} |"
        )
        print(rows[-1], flush=True)
    return rows
