"""Achievements through real processes: an event crosses a streak milestone, the Celery worker awards it,
and gunicorn delivers exactly one `achievement` message to the learner's socket."""

from __future__ import annotations

import time

import pytest
import requests
import sqlalchemy as sa

from models import Achievement, LearnerCounters, db
from services.job_runs import last_runs
from tests.conftest import bearer, create_user
from tests.planted_cohort import at
from tests.processes import wait_until
from tests.ws_client import Socket

pytestmark = pytest.mark.integration


def post(live: str, headers: dict[str, str], events: list[dict]) -> None:
    response = requests.post(f"{live}/api/v1/events", json={"events": events}, headers=headers, timeout=10)
    assert response.status_code == 201, response.text


def evaluated(learner_id: int, activities: int) -> bool:
    db.session.rollback()  # see the worker's commits
    counters = db.session.get(LearnerCounters, learner_id)
    return counters is not None and counters.activity_count == activities and counters.last_evaluated_at is not None


def test_crossing_a_streak_milestone_sends_one_achievement_and_stores_one_row(live, app):
    service = bearer(create_user("lms", "service"))
    amy = create_user("amy", "learner")
    post(live, service, [{"learner": "amy", "kind": "activity", "occurred_at": at(d)} for d in range(6, 0, -1)])
    wait_until(lambda: evaluated(amy.id, 6), 20, "the worker to evaluate six days in a row")
    socket = Socket(live, "/ws/dashboard/", token=bearer(amy)["Authorization"].split()[1])
    try:
        socket.recv_type("dashboard_initial_data")
        post(live, service, [{"learner": "amy", "kind": "activity", "occurred_at": at(0)}])  # day seven
        message = socket.recv_type("achievement", timeout=20)
        assert message["channel"] == "learner:amy" and message["id"]
        data = message["data"]
        assert (data["kind"], data["key"], data["learner"], data["type"]) == (
            "streak_milestone",
            "7",
            "amy",
            "achievement",
        )
        post(live, service, [{"learner": "amy", "kind": "activity", "occurred_at": at(0, 11)}])  # same streak
        socket.recv_type("metrics_update", timeout=20, where=lambda m: m["data"].get("current_streak") == 7)
        wait_until(lambda: evaluated(amy.id, 8), 20, "the second evaluation")
        time.sleep(1)  # the evaluation publishes achievements last: give a wrong second one time to arrive
        later = socket.fence()
        assert [m for m in socket.seen if m["type"] == "achievement"] == [message], [m["type"] for m in later]
    finally:
        socket.close()
    rows = db.session.scalars(sa.select(Achievement).where(Achievement.learner_id == amy.id)).all()
    assert [(row.kind, row.key) for row in rows] == [("streak_milestone", "7")]


def test_a_recomputation_asked_over_the_api_is_recorded_as_started_by_api(live, app):
    amy = create_user("amy", "learner")
    response = requests.post(f"{live}/api/progress/analytics/generate/", headers=bearer(amy), timeout=10)
    assert response.status_code == 202, response.text
    run = wait_until(
        lambda: (r := last_runs()["evaluation"]).get("outcome") == "success" and r, 20, "the worker to record the run"
    )
    assert (run["started_by"], run["learners"]) == ("api", "1") and float(run["duration_seconds"]) >= 0
    status = app.test_cli_runner().invoke(args=["monitoring", "status"]).output
    assert next(line for line in status.splitlines() if line.startswith("evaluation:")).startswith(
        "evaluation: success, started "
    )
