"""CPU seconds the benchmarked processes used: the web tier, PostgreSQL, Redis (for bench/ingest.py)."""

from __future__ import annotations

import psutil


def _total(processes: list) -> float:
    """User + system CPU seconds of these processes so far (one that ended meanwhile counts 0)."""
    seconds = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            seconds += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return seconds


def cpu_seconds(web_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the web processes, PostgreSQL backends and Redis."""
    web = psutil.Process(web_pid)
    everyone = list(psutil.process_iter(["name", "username"]))
    return {
        "web": _total([web, *web.children(recursive=True)]),
        "postgres": _total([p for p in everyone if p.info["username"] == "postgres"]),
        "redis": _total([p for p in everyone if p.info["name"] == "redis-server"]),
    }


def own_backend_seconds(database: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends connected to this database: unlike all of
    PostgreSQL's processes, what other work on a shared machine's server does not add to."""
    return _total(
        [
            process
            for process in psutil.process_iter(["username", "cmdline"])
            if process.info["username"] == "postgres" and f" {database} " in " ".join(process.info["cmdline"] or [])
        ]
    )


def cpu_per_item(before: dict[str, float], after: dict[str, float], items: int) -> str:
    """Each process group's CPU milliseconds per item between two cpu_seconds readings."""
    return ", ".join(f"{name} {1000 * (after[name] - before[name]) / items:.2f}" for name in before)
