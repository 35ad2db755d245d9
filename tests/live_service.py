"""A shared live service for integration tests: gunicorn and a Celery worker as separate processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import SECRET
from tests.processes import service_env, start_web, start_worker, wait_until


@pytest.fixture(scope="session")
def live(migrated: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gunicorn server and a Celery worker, both started as separate processes."""
    log_dir: Path = tmp_path_factory.mktemp("logs")
    env = service_env(migrated, redis_url, SECRET)
    worker = start_worker(env, log_dir)
    web, url = start_web(env, log_dir)
    try:
        wait_until(
            lambda: requests.get(f"{url}/health", timeout=2).json()["checks"]["worker"]["ok"],
            60,
            "web and worker to be healthy",
        )
        yield url
    except AssertionError:
        print(web.output(), worker.output())
        raise
    finally:
        web.stop()
        worker.stop()
