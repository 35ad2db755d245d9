"""Failures during background work: a worker process killed mid-sweep loses nothing and duplicates nothing."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest
import redis
import sqlalchemy as sa

from models import Alert, db
from tests.conftest import SECRET
from tests.planted_cohort import EXPECTED, open_alerts
from tests.processes import BIN, Process, service_env, wait_until

pytestmark = pytest.mark.integration


def other_database(url: str) -> str:
    """The same Redis server, another database: only this test's worker consumes its tasks."""
    base, _, number = url.rpartition("/")
    return f"{base}/{(int(number or 0) + 1) % 16}"


def test_killing_a_worker_process_mid_sweep_loses_nothing(planted, app, make_app, redis_url, migrated, tmp_path):  # noqa: F811
    isolated = other_database(redis_url)
    broker = redis.Redis.from_url(isolated)
    broker.flushdb()
    env = service_env(migrated, isolated, SECRET, MONITORING_SHARD_SIZE="1")
    worker = Process(
        "kill-worker",
        [
            str(BIN / "celery"),
            "-A",
            "worker.main:celery_app",
            "worker",
            "--concurrency=1",
            "--loglevel=INFO",
            f"--hostname=kill-{os.getpid()}@%h",
        ],
        env,
        tmp_path,
    )
    sender = make_app(REDIS_URL=isolated, MONITORING_SHARD_SIZE=1, CELERY={})
    killed = False
    try:
        with sender.app_context():
            wait_until(lambda: sender.extensions["celery"].control.ping(timeout=0.5), 30, "the worker")
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
    worker = Process(
        "retry-worker",
        [
            str(BIN / "celery"),
            "-A",
            "worker.main:celery_app",
            "worker",
            "--concurrency=1",
            "--loglevel=INFO",
            f"--hostname=retry-{os.getpid()}@%h",
        ],
        env,
        tmp_path,
    )
    sender = make_app(REDIS_URL=data.url, CELERY_BROKER_URL=broker_url, CELERY={})
    learner = User(external_id="amy", role="learner")
    db.session.add(learner)
    db.session.commit()
    try:
        with sender.app_context():
            wait_until(lambda: sender.extensions["celery"].control.ping(timeout=0.5), 30, "the worker")
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
