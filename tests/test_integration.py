"""Real processes, real clients: gunicorn + a Celery worker against the test database and Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.conftest import SECRET, bearer, create_user
from tests.processes import service_env, wait_until

pytestmark = pytest.mark.integration


def summary(url: str, headers: dict[str, str], learner: str) -> dict:
    response = requests.get(f"{url}/api/v1/learners/{learner}/summary", headers=headers, timeout=5)
    response.raise_for_status()
    return response.json()["counters"]


def test_health_sees_database_redis_and_worker(live, app):
    # Each gunicorn process pings the workers itself; give a just-started one a few tries.
    body = wait_until(
        lambda: (b := requests.get(f"{live}/health", timeout=5).json())["status"] == "ok" and b,
        10,
        "every web process to see the worker",
    )
    assert body["checks"]["worker"]["count"] >= 1


def test_ingested_event_is_evaluated_by_the_worker(live, app):
    headers = bearer(create_user("lms", "service"))
    response = requests.post(
        f"{live}/api/v1/events",
        headers=headers,
        timeout=10,
        json={
            "events": [
                {
                    "id": "e1",
                    "learner": "amy",
                    "kind": "assessment",
                    "occurred_at": "2026-01-02T10:00:00Z",
                    "score": 9,
                    "max_score": 10,
                },
                {
                    "id": "e2",
                    "learner": "amy",
                    "kind": "activity",
                    "occurred_at": "2026-01-02T11:00:00Z",
                    "duration_seconds": 300,
                },
            ]
        },
    )
    assert response.status_code == 201, response.text
    counters = wait_until(
        lambda: (c := summary(live, headers, "amy"))["last_evaluated_at"] and c, 20, "the worker to evaluate amy"
    )
    assert counters["events_seen"] == 2 and counters["average_score_percent"] == 90.0
    assert counters["last_activity_at"].startswith("2026-01-02T11:00:00")


def test_burst_of_single_events_is_coalesced_and_nothing_is_lost(live, app):
    headers = bearer(create_user("lms", "service"))
    with requests.Session() as session:
        for i in range(40):
            response = session.post(
                f"{live}/api/v1/events",
                headers=headers,
                timeout=10,
                json={"id": f"burst-{i}", "learner": "bob", "kind": "activity", "occurred_at": "2026-01-03T10:00:00Z"},
            )
            assert response.status_code == 201
    wait_until(lambda: summary(live, headers, "bob")["events_seen"] == 40, 20, "all 40 events to be counted")


def test_minted_token_works_against_the_real_server(live, app):
    service = bearer(create_user("lms", "service"))
    create_user("amy", "learner")
    create_user("bob", "learner")
    minted = requests.post(f"{live}/api/v1/auth/token", json={"user": "amy", "ttl": 60}, headers=service, timeout=5)
    assert minted.status_code == 201
    amy = {"Authorization": f"Bearer {minted.json()['token']}"}
    assert requests.get(f"{live}/api/v1/learners/amy/summary", headers=amy, timeout=5).status_code == 200
    assert requests.get(f"{live}/api/v1/learners/bob/summary", headers=amy, timeout=5).status_code == 404
    assert (
        requests.post(
            f"{live}/api/v1/events",
            headers=amy,
            timeout=5,
            json={"learner": "amy", "kind": "activity", "occurred_at": "2026-01-01T00:00:00Z"},
        ).status_code
        == 403
    )


def test_bad_input_never_gets_a_500_from_the_real_server(live, app):
    headers = bearer(create_user("lms", "service"))
    bodies = [
        b"",
        b"null",
        b"[]",
        b"{",
        b'{"events": null}',
        b'{"events": [null]}',
        b'"text"',
        b'{"kind": 5}',
        b'{"learner": {"a": 1}, "kind": "activity", "occurred_at": "2026-01-01T00:00:00Z"}',
        b'{"learner": "x", "kind": "assessment", "occurred_at": "2026-01-01T00:00:00Z", "score": 1e400, "max_score": 1}',
    ]
    for body in bodies:
        response = requests.post(
            f"{live}/api/v1/events", data=body, timeout=5, headers={**headers, "Content-Type": "application/json"}
        )
        assert 400 <= response.status_code < 500, (body, response.status_code, response.text)
        assert "error" in response.json()


def test_training_task_runs_on_the_worker(live, app):
    """The daily training task is a real Celery task: sent by name, run by the worker, result stored."""
    import sqlalchemy as sa

    from models import RiskModelVersion, db

    app.extensions["celery"].send_task("learnpulse.train_risk_model", queue="celery")

    def stored() -> int:
        db.session.rollback()  # see the worker's commit
        return db.session.scalar(sa.select(sa.func.count()).select_from(RiskModelVersion))

    wait_until(stored, 30, "the worker to store a risk model version")


def test_sweep_fans_out_on_the_worker_and_records_its_status(live, app, planted):  # noqa: F811
    """A periodic sweep sent as beat sends it: shards run on the worker, alerts land, status is kept."""
    import sqlalchemy as sa

    from models import Alert, db
    from services.sweeps import sweep_status

    app.extensions["celery"].send_task("learnpulse.monitoring.sweep", args=["engagement"], queue="celery")

    def alerts() -> int:
        db.session.rollback()
        return db.session.scalar(sa.select(sa.func.count()).select_from(Alert))

    wait_until(lambda: alerts() == 8, 30, "the engagement sweep's 8 alerts")
    status = wait_until(lambda: (s := sweep_status()["engagement"]).get("finished_at") and s, 10, "the sweep to finish")
    assert status["learners"] == "5" and status["alerts_created"] == "8" and status["shards_done"] == status["shards"]


def test_an_ingested_event_raises_an_alert_that_is_published(live, app, planted):  # noqa: F811
    """POST the event that tips a learner over; the alert arrives on the learner's Redis channel."""
    import json
    import time

    import redis as redis_lib
    import sqlalchemy as sa

    from models import User, db
    from services.channels import PUBSUB_PREFIX, learner_channel, watch
    from tests.conftest import bearer

    service = bearer(db.session.scalar(sa.select(User).where(User.external_id == "lms")))
    client = redis_lib.Redis.from_url(app.config["REDIS_URL"])
    # The fixture ingested through the in-process app, whose drain task went to a queue nothing
    # consumes; drop its 'drain scheduled' flag so the live server's event schedules its own.
    client.delete("learnpulse:evaluation:scheduled")
    subscriber = client.pubsub()
    watch(client, [learner_channel("steady")])  # what a web process does when a socket follows it
    subscriber.subscribe(PUBSUB_PREFIX + learner_channel("steady"))
    subscriber.get_message(timeout=1)  # the subscribe confirmation
    posted_at = time.monotonic()
    events = [
        {
            "learner": "steady",
            "kind": "assessment",
            # newer than every planted event (those are dated relative to now), so these are the last two
            "occurred_at": (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(),
            "score": s,
            "max_score": 100,
        }
        for minutes_ago, s in ((20, 40), (10, 35))
    ]
    assert (
        requests.post(f"{live}/api/v1/events", json={"events": events}, headers=service, timeout=10).status_code == 201
    )
    received = []

    def seen(kind: str) -> bool:
        return any(m["type"] == kind for m in received)

    while time.monotonic() - posted_at < 15 and not (seen("alert") and seen("metrics_update")):
        message = subscriber.get_message(timeout=1)
        if message and message["type"] == "message":
            received.append(json.loads(message["data"]))
    alerts = [m for m in received if m["type"] == "alert"]
    assert alerts, f"no alert published; got {[m['type'] for m in received]}"
    assert set(alerts[0]) == {"id", "type", "channel", "timestamp", "data", "channels"}
    assert alerts[0]["channel"] == "learner:steady" and alerts[0]["data"]["rule"] == "performance_decline"
    assert (alerts[0]["data"]["type"], alerts[0]["data"]["action_required"]) == ("performance", True)
    assert seen("metrics_update")


def test_flower_lists_our_tasks_behind_basic_auth(live, app, migrated, redis_url, tmp_path):
    """Flower, started as the Procfile starts it, shows the worker and our named tasks through its API."""
    from api.embedded_redis import free_port
    from tests.processes import BIN, Process

    port = free_port()
    env = service_env(migrated, redis_url, SECRET)
    flower = Process(
        "flower",
        [
            str(BIN / "celery"),
            "-A",
            "worker.main:celery_app",
            "flower",
            f"--port={port}",
            "--address=127.0.0.1",
            "--basic-auth=admin:s3cret",
        ],
        env,
        tmp_path,
    )
    url = f"http://127.0.0.1:{port}/api/workers?refresh=1"
    try:
        workers = wait_until(
            lambda: (r := requests.get(url, auth=("admin", "s3cret"), timeout=5)).ok and r.json(),
            30,
            "Flower to list the worker",
        )
        registered = {task.split(" ")[0] for info in workers.values() for task in info.get("registered", [])}
        assert {
            "learnpulse.evaluate_learners",
            "learnpulse.monitoring.sweep",
            "learnpulse.monitoring.shard",
            "learnpulse.analytics.daily",
            "learnpulse.alerts.cleanup",
            "learnpulse.train_risk_model",
        } <= registered
        assert requests.get(url, timeout=5).status_code == 401
    except AssertionError:
        print(flower.output())
        raise
    finally:
        flower.stop()


def test_daily_analytics_runs_on_the_worker(live, app, planted):  # noqa: F811
    """02:00's task: snapshots for everyone, cohort aggregates, risk model and BKT refit, in one worker run."""
    import sqlalchemy as sa

    from models import CohortSnapshot, Enrollment, MetricSnapshot, RiskModelVersion, Section, db

    section = Section(external_id="s-daily", name="Daily")
    db.session.add(section)
    db.session.flush()
    db.session.add_all([Enrollment(learner_id=pk, section_id=section.id) for pk in planted.values()])
    db.session.commit()
    app.extensions["celery"].send_task("learnpulse.analytics.daily", queue="celery")

    def stored() -> bool:
        db.session.rollback()
        count = lambda model: db.session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
        return count(MetricSnapshot) >= 5 and count(CohortSnapshot) == 1 and count(RiskModelVersion) == 1

    wait_until(stored, 60, "the daily analytics to store snapshots, cohort aggregates and a risk model")
