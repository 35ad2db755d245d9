"""psycopg's waits on gevent's loop (api/pg_hub_wait.py): the same answers, cooperative, interruptible."""

from __future__ import annotations

import json
import subprocess
import sys

from sqlalchemy.engine import make_url

from tests.conftest import repo_root


def test_only_a_gevent_patched_process_gets_the_hub_wait() -> None:
    from psycopg import waiting

    from api.pg_hub_wait import use_hub_waits, wait_on_hub

    assert use_hub_waits() is False and waiting.wait is not wait_on_hub  # pytest's process is not patched


def test_statements_copy_pipelines_and_big_values_under_gevent(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return  # the embedded backend (SQLite) has no psycopg connection to wait on
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    done = subprocess.run(
        [sys.executable, "-m", "tests.hub_wait_probe", plain],
        cwd=repo_root(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["installed"] is True
    assert found["one"] == 42 and found["echo"] == [3_000_000, True] and found["rows"] == 5000
    assert found["pipeline"] == [2 * n for n in range(20)]
    assert found["copied"] == [10_000, sum(range(10_000))]
    assert found["slow"] == 7 and 0.34 < found["slow_seconds"] < 2.0
    assert found["concurrent"] == list(range(10)) and found["concurrent_seconds"] < 2.0
    assert found["terminated"] == "OperationalError"
    assert found["waits"] > 20
