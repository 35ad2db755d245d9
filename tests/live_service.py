"""A shared live service for integration tests: gunicorn and a Celery worker as separate processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SECRET
from tests.processes import running_services, service_env


@pytest.fixture(scope="session")
def live(migrated: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gunicorn server and a Celery worker, both started as separate processes."""
    log_dir: Path = tmp_path_factory.mktemp("logs")
    env = service_env(migrated, redis_url, SECRET)
    with running_services(env, log_dir) as url:
        yield url
