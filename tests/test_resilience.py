"""Failures during background work: a worker process killed mid-sweep loses nothing and duplicates nothing."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import psutil
import pytest
import redis
import sqlalchemy as sa

from models import Alert, db
from tests.conftest import SECRET
from tests.planted_cohort import EXPECTED, open_alerts
from tests.processes import (
    RESILIENCE_DB,
    Process,
    service_env,
    sibling_database,
    start_worker,
    wait_for_ping,
    wait_until,
)

pytestmark = pytest.mark.integration


def other_database(url: str) -> str:
    """The same Redis server, another database: only this test's worker consumes its tasks."""
    return sibling_database(url, RESILIENCE_DB)


def test_killing_a_worker_process_mid_sweep_loses_nothing(planted, app, make_app, redis_url, migrated, tmp_path):  # noqa: F811
    isolated = other_database(redis_url)
    broker = redis.Redis.from_url(isolated)
    broker.flushdb()
    env = service_env(migrated, isolated, SECRET, MONITORING_SHARD_SIZE="1")
    worker = start_worker(env, tmp_path, "kill-worker", concurrency=1)
    sender = make_app(REDIS_URL=isolated, MONITORING_SHARD_SIZE=1, CELERY={})
    killed = False
    try:
        with sender.app_context():
            wait_for_ping(sender.extensions["celery"], worker)
            for _ in range(3):  # a sweep that finishes between two polls is simply run again
                stale = broker.keys("learnpulse:*")  # the previous try's lock, status and done marks
                if stale:
                    broker.delete(*stale)
                sender.extensions["celery"].send_task("learnpulse.monitoring.sweep", args=["engagement"])
                deadline = time.monotonic() + 20
                while (
                    not killed
                    and time.monotonic() < deadline
                    and not broker.hget("learnpulse:monitoring:engagement", "finished_at")
                ):
                    if broker.hlen("unacked") and broker.exists(
                        "learnpulse:monitoring:engagement"
                    ):  # a task is running
                        for child in psutil.Process(worker.popen.pid).children():  # --concurrency=1: the pool process
                            os.kill(child.pid, signal.SIGKILL)
                            killed = True
                    time.sleep(0.001)
                if killed:
                    break
            assert killed, "never caught the worker in the middle of a task in three sweeps"
            wait_until(
                lambda: broker.hget("learnpulse:monitoring:engagement", "finished_at"),
                60,
                "every shard to complete after the kill",
            )
        db.session.rollback()  # read what the worker committed
        assert open_alerts() == EXPECTED["engagement"]
        per_rule = db.session.execute(
            sa.select(Alert.learner_id, Alert.rule, sa.func.count()).group_by(Alert.learner_id, Alert.rule)
        ).all()
        assert all(count == 1 for _, _, count in per_rule)
        assert "WorkerLostError" in worker.output() or "signal 9" in worker.output()
    except AssertionError:
        print(worker.output())
        raise
    finally:
        worker.stop()
        broker.flushdb()


def test_a_redis_outage_makes_the_task_retry_and_then_succeed(app, make_app, redis_url, migrated, tmp_path):
    """The data Redis goes away while the broker stays: the drain task fails, Celery retries it with
    backoff, and once Redis is back the retry finishes the work."""
    from api.embedded_redis import EmbeddedRedis
    from models import LearnerCounters, User
    from services.dispatch import PENDING_SET

    broker_url = other_database(redis_url)
    redis.Redis.from_url(broker_url).flushdb()
    data = EmbeddedRedis(tmp_path / "data-redis").start()
    env = service_env(migrated, data.url, SECRET, CELERY_BROKER_URL=broker_url)
    worker = start_worker(env, tmp_path, "retry-worker", concurrency=1)
    sender = make_app(REDIS_URL=data.url, CELERY_BROKER_URL=broker_url, CELERY={})
    learner = User(external_id="amy", role="learner")
    db.session.add(learner)
    db.session.commit()
    try:
        with sender.app_context():
            wait_for_ping(sender.extensions["celery"], worker)
            data.stop()  # the outage starts
            sender.extensions["celery"].send_task("learnpulse.evaluate_pending")
            wait_until(lambda: "Retry in" in worker.output(), 30, "the task to fail and schedule a retry")
            data = EmbeddedRedis(tmp_path / "data-redis", port=data.port).start()  # Redis is back (empty)
            redis.Redis.from_url(data.url).sadd(PENDING_SET, learner.id)
            wait_until(lambda: redis.Redis.from_url(data.url).scard(PENDING_SET) == 0, 60, "a retry to drain the set")
        db.session.rollback()
        evaluated = wait_until(
            lambda: db.session.rollback() or db.session.get(LearnerCounters, learner.id), 10, "the learner's counters"
        )
        assert evaluated.last_evaluated_at is not None
        wait_until(lambda: "succeeded" in worker.output(), 10, "the retried task to report success")
    except AssertionError:
        print(worker.output())
        raise
    finally:
        worker.stop()
        data.stop()
        redis.Redis.from_url(broker_url).flushdb()


def start_kill_worker(env: dict[str, str], log_dir, name: str) -> Process:
    """One Celery worker with one pool process: the pool process is the one evaluating."""
    return start_worker(env, log_dir, name, concurrency=1)


def post_activity(sender, headers: dict[str, str], learners: list[str], when: str) -> None:
    events = [{"learner": name, "kind": "activity", "occurred_at": when} for name in learners]
    assert sender.test_client().post("/api/v1/events", json={"events": events}, headers=headers).status_code == 201


@contextmanager
def evaluations_held(engine: sa.Engine) -> Iterator[None]:
    """Hold the write lock that an evaluation's first write (its learners' counters) waits for; POST
    /events does not write counters, so on PostgreSQL only evaluations wait (SQLite: every writer)."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("LOCK TABLE learner_counters IN EXCLUSIVE MODE"))
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # SQLite's one write lock
        try:
            yield
        finally:
            connection.rollback()


def kill_mid_evaluation(post: Callable[[], None], broker: redis.Redis, worker: Process, whole_worker: bool) -> bool:
    """Post with the pool process stopped, hold the evaluations' write lock, let the drain take its lease
    and SIGKILL its pool process (and the main process too, as when the machine dies: then nothing
    requeues the task and only the lease can save the learners). The lock keeps the drain between
    its lease and its commit for as long as the test needs: a state to wait for, not a moment to catch."""
    from services.dispatch import LEASES

    pool = psutil.Process(worker.popen.pid).children()
    for process in pool:
        process.suspend()  # the drain cannot start before the lock is held
    post()
    with evaluations_held(db.engine):
        for process in pool:
            process.resume()
        wait_until(lambda: broker.zcard(LEASES), 30, "the drain to take its lease")
        for process in pool + ([psutil.Process(worker.popen.pid)] if whole_worker else []):
            process.kill()
        psutil.wait_procs(pool, timeout=5)
        return bool(broker.zcard(LEASES))  # the dead drain had not released its learners


@pytest.mark.parametrize("whole_worker", [False, True], ids=["pool-process", "whole-worker"])
def test_killing_a_worker_mid_evaluation_leaves_no_learner_unevaluated(
    whole_worker, app, make_app, redis_url, migrated, tmp_path
):
    """At-least-once hand-over: the drain's learners stay leased until their evaluation committed."""
    from models import LearnerCounters, User
    from services.dispatch import LEASES, PENDING_SET
    from tests.conftest import bearer, create_user

    isolated = other_database(redis_url)
    broker = redis.Redis.from_url(isolated)
    broker.flushdb()
    env = service_env(migrated, isolated, SECRET, EVALUATION_LEASE_SECONDS="3")
    workers = [start_kill_worker(env, tmp_path, "drain-worker")]
    sender = make_app(REDIS_URL=isolated, CELERY={}, EVALUATION_LEASE_SECONDS=3)
    headers = bearer(create_user("lms", "service"))
    learners = [f"kill{i}" for i in range(400)]
    try:
        with sender.app_context():
            wait_for_ping(sender.extensions["celery"], workers[0])
            post = partial(post_activity, sender, headers, learners, "2026-01-05T09:00:00Z")
            assert kill_mid_evaluation(post, broker, workers[0], whole_worker), "the drain's lease is gone"
            if whole_worker:
                workers[0].stop()
                workers.append(start_kill_worker(env, tmp_path, "restarted-worker"))
                wait_for_ping(sender.extensions["celery"], workers[-1], "the new worker")
                time.sleep(3)  # the dead drain's lease runs out; the next event's drain re-queues its learners
                post_activity(sender, headers, ["late"], "2026-01-05T10:00:00Z")
            wait_until(lambda: not broker.zcard(LEASES) and not broker.scard(PENDING_SET), 60, "every drain to finish")
        db.session.rollback()  # read what the workers committed
        seen = dict(
            db.session.execute(
                sa.select(User.external_id, LearnerCounters.events_seen).join(
                    LearnerCounters, LearnerCounters.learner_id == User.id
                )
            ).all()
        )
        assert {name: seen.get(name) for name in learners} == {name: 1 for name in learners}
        if not whole_worker:  # the pool process was replaced and the task redelivered
            assert "WorkerLostError" in workers[0].output() or "signal 9" in workers[0].output()
    except AssertionError:
        for worker in workers:
            print(worker.log_path.read_text(errors="replace")[-4000:])
        raise
    finally:
        for worker in workers:
            worker.stop()
        broker.flushdb()
