"""A shared live service for integration tests: gunicorn and a Celery worker as separate processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SECRET
from tests.processes import service_env, start_web, start_worker, stopped_after, wait_for_worker


@pytest.fixture(scope="session")
def live(migrated: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gunicorn server and a Celery worker, both started as separate processes."""
    log_dir: Path = tmp_path_factory.mktemp("logs")
    env = service_env(migrated, redis_url, SECRET)
    worker = start_worker(env, log_dir)
    web, url = start_web(env, log_dir)
    with stopped_after(web, worker):
        wait_for_worker(url)
        yield url
