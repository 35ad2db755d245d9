"""Start and stop the real processes integration tests talk to: gunicorn, a Celery worker, `make run`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import requests

from api.embedded_redis import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def wait_until(check: Callable[[], object], timeout: float, what: str, interval: float = 0.1) -> object:
    """Poll until check() returns something truthy; fail the test with `what` on timeout."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (requests.RequestException, OSError) as exc:
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


class Process:
    """A child process in its own session, with its output in a log file shown on failure."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.node = name  # a Celery worker's node name (start_worker sets it)
        self.log_path = log_dir / f"{name}.log"
        self.log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = 15, timeout: float = 20) -> int:
        """Signal the whole process group and wait; kill what is left."""
        if self.alive():
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, 9)
                self.popen.wait()
        self.log.close()
        return self.popen.returncode

    def cpu_seconds(self) -> float:
        """CPU time the process and its children have used so far."""
        try:
            processes = [psutil.Process(self.popen.pid), *self.descendants()]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.popen.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []


# A Celery worker's start-up (imports, the app, the pool) costs about 3 CPU-seconds; this is ten times that.
# With 16 busy sessions on this 2-core machine those 3 CPU-seconds took 31-35 s of wall time.
START_CPU_SECONDS = 30.0


def wait_until_logged(process: Process, line: str, cpu_seconds: float = START_CPU_SECONDS, limit: float = 300) -> None:
    """Until `process` logs `line` (its own word that it started). The budget is the process's own CPU
    time, not the clock: every session is its own scheduling group (autogroup), so on a shared machine ten
    busy sessions stretch a start-up of 3 CPU-seconds past 30 s of wall time while it is working normally.
    Fails at once when the process exits, when it spends the budget without getting there, or after
    `limit` seconds of wall time (blocked)."""
    started = time.monotonic()
    while line not in process.output():
        spent, waited = process.cpu_seconds(), time.monotonic() - started
        if not process.alive() or spent > cpu_seconds or waited > limit:
            state = "running" if process.alive() else f"exited with {process.popen.returncode}"
            raise AssertionError(
                f"{process.name} ({state}, {spent:.1f} CPU-s in {waited:.0f} s) never logged {line!r}:\n"
                + process.output()[-4000:]
            )
        time.sleep(0.1)


def wait_for_ping(celery: Any, worker: Process, what: str = "the worker") -> None:
    """Until `worker` (started: it said so) answers a ping addressed to it by name; with one destination
    the ping returns as soon as that reply arrives, and no other worker's reply counts."""
    wait_until_logged(worker, f"{worker.node} ready.")
    wait_until(lambda: celery.control.ping(destination=[worker.node], timeout=2.0), 30, f"{what} to answer a ping")


def wait_for_worker(url: str, what: str = "web and worker to be healthy") -> None:
    """Until the web process at `url` reports a live worker in /health (a minute at most)."""
    wait_until(lambda: requests.get(f"{url}/health", timeout=2).json()["checks"]["worker"]["ok"], 60, what)


@contextmanager
def stopped_after(*processes: Process) -> Iterator[None]:
    """Stop the processes, in order, when the block ends; if a check failed inside it, show their output."""
    try:
        yield
    except AssertionError:
        print(*(process.output() for process in processes))
        raise
    finally:
        for process in processes:
            process.stop()


@contextmanager
def running_services(env: dict[str, str], log_dir: Path, name: str = "") -> Iterator[str]:
    """One Celery worker and one gunicorn for a test module: the server's URL once the worker answers."""
    prefix = f"{name}-" if name else ""
    worker = start_worker(env, log_dir, name=f"{prefix}worker")
    web, url = start_web(env, log_dir, name=f"{prefix}web")
    with stopped_after(web, worker):
        wait_until_logged(worker, f"{worker.node} ready.")
        wait_for_worker(url)
        yield url


# Redis databases of the test server that one test module's own worker consumes (offsets from the test database):
# nothing else takes their tasks, whichever other module's worker is running.
RESILIENCE_DB, REALTIME_DB, HEALTH_DB, NOTIFICATIONS_DB = 1, 2, 3, 5


def sibling_database(url: str, offset: int) -> str:
    """The same Redis server, the database `offset` after the test one."""
    base, _, number = url.rpartition("/")
    return f"{base}/{(int(number or 0) + offset) % 16}"


def embedded_env(instance: Path, port: int) -> dict[str, str]:
    """The embedded default's settings for child processes: no database or Redis URL, a private instance."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    return {**env, "INSTANCE_PATH": str(instance), "PORT": str(port), "PYTHONUNBUFFERED": "1"}


def service_env(database_url: str, redis_url: str, secret: str, **extra: str) -> dict[str, str]:
    """Production-style settings for child processes. Rate limits are off (tests open hundreds of sockets
    a minute from one address) unless a test turns them on; tests/test_rate_limits.py does."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, SECRET_KEY=secret, PYTHONUNBUFFERED="1")
    env.setdefault("RATE_LIMITS_ENABLED", "false")
    env.update(extra)
    return env


def start_worker(env: dict[str, str], log_dir: Path, name: str = "worker", concurrency: int = 2) -> Process:
    """A Celery worker with `concurrency` pool processes, its node name (`.node`) unique to this test run."""
    node = f"{name}-{os.getpid()}@{socket.gethostname()}"
    worker = Process(
        name,
        [
            str(BIN / "celery"),
            "-A",
            "worker.main:celery_app",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            f"--hostname={node}",
        ],
        env,
        log_dir,
    )
    worker.node = node
    return worker


def start_web(env: dict[str, str], log_dir: Path, name: str = "web", processes: int = 2) -> tuple[Process, str]:
    port = free_port()
    web_env = {**env, "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": str(processes)}
    return Process(
        name, [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"], web_env, log_dir
    ), f"http://127.0.0.1:{port}"
