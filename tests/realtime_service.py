"""The live service of the realtime tests: two gunicorn processes, a Celery worker and a Redis they
publish through that a test can restart; plus the JavaScript client driven in Node.js."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests

from api.auth.tokens import issue_token
from api.embedded_redis import EmbeddedRedis
from tests.conftest import SECRET, bearer
from tests.processes import (
    REALTIME_DB,
    Process,
    service_env,
    sibling_database,
    start_web,
    start_worker,
    stopped_after,
    wait_for_worker,
    wait_until_logged,
)

ALLOWED_ORIGIN = "https://lms.example"
QUEUE_SIZE = 50


@dataclass
class Live:
    a: str  # web process A
    b: str  # web process B
    data: EmbeddedRedis  # the Redis both publish through (restartable)
    web_a: Process
    web_b: Process

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.data.url)


@pytest.fixture(scope="module", name="live")
def two_web_processes(migrated: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """`live` for the modules that import it (in place of the session's one web process): web processes
    A and B, a Celery worker, and the Redis both publish through; one set per test module."""
    log_dir: Path = tmp_path_factory.mktemp("realtime-logs")
    data = EmbeddedRedis(tmp_path_factory.mktemp("realtime-redis")).start()
    broker = sibling_database(redis_url, REALTIME_DB)
    redis.Redis.from_url(broker).flushdb()
    env = service_env(
        migrated,
        data.url,
        SECRET,
        CELERY_BROKER_URL=broker,
        WS_AUTH_TIMEOUT="2",
        WS_PING_INTERVAL="2",
        WS_QUEUE_SIZE=str(QUEUE_SIZE),
        WS_ALLOWED_ORIGINS=ALLOWED_ORIGIN,
    )
    worker = start_worker(env, log_dir, name="realtime-worker")
    web_a, url_a = start_web(env, log_dir, "web-a", processes=1)
    web_b, url_b = start_web(env, log_dir, "web-b", processes=1)
    try:
        with stopped_after(web_a, web_b, worker):
            wait_until_logged(worker, f"{worker.node} ready.")
            for url in (url_a, url_b):
                wait_for_worker(url)
            yield Live(url_a, url_b, data, web_a, web_b)
    finally:
        data.stop()
        redis.Redis.from_url(broker).flushdb()


def token(user, ttl: int = 600) -> str:
    return issue_token(SECRET, user.external_id, user.role, ttl)[0]


def activity(learner: str, event_id: str, **context) -> dict:
    """A one-minute activity event of `learner` (with any context: section, course, ...)."""
    return {
        "id": event_id,
        "learner": learner,
        "kind": "activity",
        "occurred_at": "2026-01-05T10:00:00Z",
        "duration_seconds": 60,
        **context,
    }


def post_events(url: str, school, *events: dict) -> requests.Response:
    response = requests.post(
        f"{url}/api/v1/events", json={"events": list(events)}, headers=bearer(school["lms"]), timeout=10
    )
    assert response.status_code == 201, response.text
    return response


class NodeClient:
    """static/js/learnpulse.js running in Node.js (its built-in WebSocket), driven line by line."""

    def __init__(self, base_url: str, path: str, token_: str, channels: tuple[str, ...] = ()) -> None:
        root = Path(__file__).resolve().parent.parent
        self.process = subprocess.Popen(
            [
                "node",
                "--experimental-websocket",
                str(root / "tests/js/client_driver.js"),
                str(root / "api/static/js/learnpulse.js"),
                base_url,
                path,
                token_,
                *([",".join(channels)] if channels else []),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[dict] = queue.Queue()
        self.log: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def wait_for(self, predicate, what: str, timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.log.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"node client: no {what} within {timeout}s; saw {self.log}")

    def command(self, text: str) -> None:
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def activity_ids(self) -> list[str]:
        return [
            e["id"]
            for line in self.log
            if line.get("message", {}).get("type") == "activity"
            for e in line["message"]["data"]["events"]
        ]

    def stop(self) -> None:
        try:
            self.command("quit")
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
