"""One gunicorn web tier (gevent workers; production runs WEB_CONCURRENCY, default 2) for a benchmark: started, and
stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

from api.embedded_redis import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def start_web(
    database_url: str,
    redis_url: str,
    secret: str,
    log_path: str,
    processes: int = 1,
    app: str | None = None,
    niceness: int | str = 0,
) -> tuple[psutil.Popen, int]:
    """gunicorn with `processes` gevent workers (one by default; production's default is 2); returns it once /health
    answers and every worker process is up.
    `app`: another WSGI module:name than wsgi:app (e.g. bench.floor_app:app, the app plus a bench endpoint);
    `niceness`: the process's CPU priority (a nice value, or "idle": SCHED_IDLE), inherited by its workers."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secret,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": str(processes),
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_WEBSOCKET": "1000000 per minute",  # thousands of benchmark clients share one address
        "RATE_LIMIT_READS": "1000000 per minute",  # read benchmarks repeat one credential
        "RATE_LIMIT_INGEST": "1000000 per second",  # one bench credential outruns one LMS's 2,000/s on a fast VM
    }
    with open(log_path, "wb") as log:  # the child keeps its own descriptor
        web = psutil.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", *([app] if app else [])],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda: lower_priority(0, niceness)) if niceness else None,
        )
    deadline = time.time() + 60
    while True:
        try:
            answered = requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code in (200, 503)
            if answered and len(web.children()) >= processes:
                return web, port
        except requests.RequestException:
            pass
        if time.time() > deadline or web.poll() is not None:
            web.terminate()
            raise SystemExit(f"the web process did not start (see {log_path})")
        time.sleep(0.2)


def lower_priority(pid: int, niceness: int | str) -> None:
    """Give a process (0: this one) a lower CPU priority: a nice value, or "idle" (SCHED_IDLE: it runs only
    when no normal process wants the CPU, whatever the number of its own runnable threads)."""
    if niceness == "idle":
        os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
    else:
        os.setpriority(os.PRIO_PROCESS, pid, int(niceness))


def stop_web(web: psutil.Popen) -> None:
    """Stop the web process this benchmark started, and its worker, at once: a worker busy in a long
    computation would hold gunicorn's shutdown for its graceful timeout, and nothing it holds matters."""
    workers = web.children()
    web.send_signal(signal.SIGINT)  # the master exits once its workers are gone, without respawning
    for worker in workers:
        worker.kill()
    try:
        web.wait(15)
    except psutil.TimeoutExpired:
        web.kill()
        web.wait(5)
