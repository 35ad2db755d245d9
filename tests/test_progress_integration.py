"""The progress API against real processes: analytics/generate runs on a real Celery worker, which
stores a snapshot and publishes metrics_update; track/ goes through the real ingest and evaluation."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis as redis_lib
import requests
import sqlalchemy as sa

from models import LearnerCounters, MetricSnapshot, User, db
from services.channels import PUBSUB_PREFIX, learner_channel, watch
from tests.conftest import SECRET, bearer, create_user
from tests.processes import running_services, service_env, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live(migrated: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn and a Celery worker for this module only (stopped before other modules run)."""
    log_dir: Path = tmp_path_factory.mktemp("progress-logs")
    env = service_env(migrated, redis_url, SECRET)
    with running_services(env, log_dir, "progress") as url:
        yield url


def _messages(subscriber, kind: str, timeout: float) -> list[dict]:
    received, started = [], time.monotonic()
    while time.monotonic() - started < timeout and not any(m["type"] == kind for m in received):
        message = subscriber.get_message(timeout=1)
        if message and message["type"] == "message":
            received.append(json.loads(message["data"]))
    return received


def test_generate_runs_on_the_worker_and_publishes_metrics(live, app):
    amy = create_user("amy", "learner")
    service = bearer(create_user("lms", "service"))
    event = {"learner": "amy", "kind": "assessment", "score": 8, "max_score": 10}
    event["occurred_at"] = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert requests.post(f"{live}/api/v1/events", json=event, headers=service, timeout=10).status_code == 201

    def evaluated() -> bool:
        db.session.rollback()
        counters = db.session.get(LearnerCounters, amy.id)
        return counters is not None and counters.assessment_count == 1

    wait_until(evaluated, 20, "the ingest's own evaluation to finish first")  # so what follows is ours
    client = redis_lib.Redis.from_url(app.config["REDIS_URL"])
    subscriber = client.pubsub()
    watch(client, [learner_channel("amy")])  # what a web process does when a socket follows amy
    subscriber.subscribe(PUBSUB_PREFIX + learner_channel("amy"))
    subscriber.get_message(timeout=1)
    db.session.execute(sa.delete(MetricSnapshot))  # only the generated one counts below
    db.session.commit()
    response = requests.post(f"{live}/api/progress/analytics/generate/", headers=bearer(amy), timeout=10)
    assert response.status_code == 202 and response.json()["task_id"], response.text
    received = _messages(subscriber, "metrics_update", 20)
    updates = [m for m in received if m["type"] == "metrics_update"]
    assert updates and updates[0]["data"]["learner"] == "amy" and updates[0]["data"]["assessments"] == 1

    def stored() -> int:
        db.session.rollback()  # see the worker's commit
        return db.session.scalar(
            sa.select(sa.func.count()).select_from(MetricSnapshot).where(MetricSnapshot.learner_id == amy.id)
        )

    wait_until(stored, 10, "the worker to store amy's snapshot")
    listed = requests.get(f"{live}/api/v1/progress/snapshots/", headers=bearer(amy), timeout=10).json()
    assert listed["snapshots"][0]["metrics"]["assessments"] == 1


def test_tracked_activity_is_evaluated_by_the_worker(live, app):
    amy = create_user("amy", "learner")
    redis_lib.Redis.from_url(app.config["REDIS_URL"]).delete("learnpulse:evaluation:scheduled")
    beat = {"heartbeat": True, "duration_seconds": 300}  # stored, but neither evaluated nor counted below
    assert requests.post(f"{live}/api/progress/track/", json=beat, headers=bearer(amy), timeout=10).status_code == 201
    body = {"id": "tab-7", "duration_seconds": 120}
    response = requests.post(f"{live}/api/progress/track/", json=body, headers=bearer(amy), timeout=10)
    assert response.status_code == 201, response.text

    def evaluated() -> LearnerCounters | None:
        db.session.rollback()
        counters = db.session.get(LearnerCounters, amy.id)
        return counters if counters is not None and counters.activity_count == 1 else None

    counters = wait_until(evaluated, 20, "the worker to count amy's tracked activity")
    assert (counters.time_spent_seconds, counters.events_seen) == (120, 1), "the heartbeat is no activity"
    dashboard = requests.get(f"{live}/api/progress/real-time-dashboard/", headers=bearer(amy), timeout=10).json()
    assert dashboard["realtime_metrics"]["daily_activities"] == 1
    assert dashboard["recent_activities"][0]["id"] == "self:amy:tab-7"
    assert db.session.scalar(sa.select(User.role).where(User.id == amy.id)) == "learner"
