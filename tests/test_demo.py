"""`flask demo seed` ends with a live-looking school; `flask demo simulate` moves it through the HTTP API."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis as redis_lib
import requests
import sqlalchemy as sa

from api.auth.tokens import decode_token
from api.demo.evaluation import open_alerts_by_rule
from api.demo.history import DECK, assign_profiles
from api.demo.http import JsonClient, Unreachable
from api.demo.names import learner_names
from api.embedded_redis import free_port
from models import (
    Alert,
    CohortSnapshot,
    Event,
    Exam,
    Grade,
    LearnerCounters,
    MetricSnapshot,
    RiskModelVersion,
    Section,
    User,
    db,
)
from services.channels import PUBSUB_PREFIX, section_channel, watch
from tests.conftest import SECRET
from tests.processes import BIN, ROOT, Process, embedded_env, service_env, wait_until

LINK = re.compile(r"(http://\S+)/login\?token=(\S+)")


def seed(runner, *args: str):
    result = runner.invoke(args=["demo", "seed", "--learners", "40", "--days", "30", *args])
    assert result.exit_code == 0, result.output
    return result


def test_seed_ends_with_open_alerts_snapshots_and_a_trained_model(runner):
    result = seed(runner)
    open_rules = open_alerts_by_rule()
    assert {"engagement_drop", "completion_stagnation", "low_consistency", "high_performance"} <= set(open_rules)
    assert len(open_rules) >= 6, open_rules
    snapshots = db.session.scalars(sa.select(MetricSnapshot.metrics)).all()
    assert len(snapshots) == 80  # a daily and a velocity snapshot per learner
    velocity = [m for m in snapshots if m["snapshot"] == "velocity"]
    assert len(velocity) == 40 and any(m["completion"] for m in velocity)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CohortSnapshot)) == 8
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskModelVersion)) == 1
    counters = db.session.scalars(sa.select(LearnerCounters)).all()
    assert len(counters) == 40 and all(c.last_evaluated_at for c in counters)
    assert re.search(r"in \d+\.\d s\.", result.output) and "Open alerts: " in result.output


def test_seed_prints_sign_in_links_for_the_three_roles(runner, client):
    result = seed(runner, "--base-url", "http://demo.example:8080/")
    links = LINK.findall(result.output)
    assert [base for base, _ in links] == ["http://demo.example:8080"] * 3
    roles = []
    for _, token in links:
        claims = decode_token(SECRET, token)
        assert 11 * 3600 < claims["exp"] - claims["iat"] <= 12 * 3600
        roles.append(claims["role"])
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert roles == ["learner", "educator", "admin"]
    bearer = [line for line in result.output.splitlines() if line.startswith("eyJ")]
    assert [decode_token(SECRET, t)["role"] for t in bearer] == ["educator", "learner", "admin"]  # as before


def test_seed_links_default_to_the_local_port(runner, monkeypatch):
    monkeypatch.setenv("PORT", "8123")
    result = seed(runner)
    assert all(base == "http://127.0.0.1:8123" for base, _ in LINK.findall(result.output))


def test_names_look_real_and_are_repeatable(runner):
    seed(runner)
    learners = db.session.scalars(sa.select(User).where(User.role == "learner")).all()
    names = [u.name for u in learners]
    assert len(set(names)) == 40
    assert all(n and " " in n and not n.startswith("demo") and not any(c.isdigit() for c in n) for n in names)
    assert learner_names(40, 7) == learner_names(40, 7) != learner_names(40, 8)
    educators = db.session.scalars(sa.select(User.name).where(User.role == "educator")).all()
    assert all(re.match(r"(Ms|Mr|Dr)\. \w+ \w+", name) for name in educators)
    sections = db.session.scalars(sa.select(Section.name)).all()
    assert "Algebra I — Period 2" in sections and "Biology — Period 5" in sections
    exams = db.session.scalars(sa.select(Exam.title)).all()
    assert "Algebra I — Midterm" in exams and len(exams) == 6
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Grade)) > 40


def test_every_profile_is_present_in_a_small_school():
    profiles = assign_profiles(20, 7)
    assert set(profiles.values()) == set(DECK) and len(set(DECK)) == 8
    assert assign_profiles(20, 7) == profiles


def test_seed_again_changes_nothing_and_another_seed_is_refused(runner):
    seed(runner)
    alerts = db.session.scalar(sa.select(sa.func.count()).select_from(Alert))
    again = seed(runner)
    assert "events stored 0" in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Alert)) == alerts  # no duplicate alerts
    other = runner.invoke(args=["demo", "seed", "--learners", "40", "--days", "30", "--seed", "8"])
    assert other.exit_code == 1 and "already holds a different demo school" in other.output
    assert "Traceback" not in other.output


def run_flask(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_simulate_against_an_unreachable_server_fails_cleanly(runner, migrated, redis_url):
    seed(runner)
    env = service_env(migrated, redis_url, SECRET)
    done = run_flask(env, "demo", "simulate", "--duration", "2", "--base-url", f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 1
    assert "Error: cannot reach LearnPulse at http://127.0.0.1:" in done.stderr and "make run" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.integration
def test_simulate_posts_events_that_the_worker_evaluates_and_publishes(live, app, runner, migrated, redis_url):  # noqa: F811
    runner.invoke(args=["demo", "seed", "--learners", "12", "--days", "14"])
    client = redis_lib.Redis.from_url(redis_url)
    client.delete("learnpulse:evaluation:scheduled")  # the live server's events schedule their own drain
    subscriber = client.pubsub()
    watch(client, [section_channel("demo-math-A")])  # what a web process does when a dashboard follows it
    subscriber.psubscribe(PUBSUB_PREFIX + "*")
    subscriber.get_message(timeout=1)
    for _ in range(4):  # each gunicorn process answers its first request slowly (imports, connections)
        requests.get(f"{live}/health", timeout=60)
    started = datetime.now(UTC)
    done = run_flask(
        service_env(migrated, redis_url, SECRET), "demo", "simulate", "--rate", "20", "--duration", "3",
        "--base-url", live, "--seed", "3",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"Simulated 3\.\d s: \d+ events sent", done.stdout) and " 0 error(s)" in done.stdout, done.stdout
    db.session.commit()
    simulated = sa.select(sa.func.count()).select_from(Event).where(Event.client_id.like("sim-3-%"))
    assert db.session.scalar(simulated.where(Event.kind.in_(("activity", "assessment", "module_completed")))) >= 40
    assert db.session.scalar(simulated.where(Event.kind == "attendance")) == 3  # today's register of Period 1
    exam = db.session.scalar(sa.select(Exam).where(Exam.external_id.like("sim-3-%")))
    assert exam is not None and exam.title.startswith("Algebra I — Period 1 — Pop Quiz")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Grade).where(Grade.exam_id == exam.id)) == 3

    def evaluated() -> bool:
        db.session.commit()
        latest = db.session.scalar(sa.select(sa.func.max(LearnerCounters.last_evaluated_at)))
        return latest is not None and latest > started

    wait_until(evaluated, 30, "the worker to evaluate the simulated learners")
    types = set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not {"activity", "exam_created"} <= types:
        message = subscriber.get_message(timeout=1)
        if message and message["type"] == "pmessage":
            types.add(json.loads(message["data"])["type"])
    assert {"activity", "exam_created"} <= types, types


@pytest.mark.integration
def test_the_demo_flow_on_make_run(tmp_path):
    """What the README says: `make run`, then `flask demo seed` and `flask demo simulate` beside it."""
    port = free_port()
    env = embedded_env(tmp_path / "instance", port)
    run = Process("make-run", [str(BIN / "python"), "scripts/run_embedded.py"], env, tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{url}/health", timeout=60).ok, 180, "make run to be healthy")
        seeded = run_flask(env, "demo", "seed", "--learners", "20", "--days", "21", timeout=300)
        assert seeded.returncode == 0, seeded.stderr
        links = dict((decode_claims(env, token)["role"], base) for base, token in LINK.findall(seeded.stdout))
        assert links == {role: url for role in ("learner", "educator", "admin")}
        educator = [t for b, t in LINK.findall(seeded.stdout) if decode_claims(env, t)["role"] == "educator"][0]
        alerts = requests.get(
            f"{url}/api/v1/progress/performance-alerts/", headers={"Authorization": f"Bearer {educator}"}, timeout=10
        )
        assert alerts.status_code == 200 and alerts.json()["alerts"], alerts.text  # the demo opens on alerts
        simulated = run_flask(env, "demo", "simulate", "--rate", "10", "--duration", "3", timeout=60)
        assert simulated.returncode == 0 and " 0 error(s)" in simulated.stdout, simulated.stdout + simulated.stderr
    except AssertionError:
        print(run.output())
        raise
    finally:
        os.kill(run.popen.pid, signal.SIGINT)
        assert run.popen.wait(timeout=30) == 0
        run.log.close()


def decode_claims(env: dict[str, str], token: str) -> dict:
    """Claims of a token signed with the embedded instance's generated secret key."""
    secret = (Path(env["INSTANCE_PATH"]) / "secret_key").read_text().strip()
    return decode_token(secret, token)


def test_a_server_that_never_answers_is_unreachable_at_first_and_busy_later():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections complete in the backlog, but nothing ever answers them
    client = JsonClient(f"http://127.0.0.1:{silent.getsockname()[1]}", "token", timeout=0.3)
    try:
        with pytest.raises(Unreachable, match="cannot reach LearnPulse"):
            client.request("GET", "/health")
        client.answered = True  # as after a first answer: a slow request is then one error, not the end
        assert client.request("POST", "/api/v1/events", {"events": []}) == (0, {"message": "no answer within 0.3 s"})
    finally:
        silent.close()
