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
from tests.processes import Process, service_env, wait_until, BIN
from tests.test_monitoring import EXPECTED, open_alerts, planted  # noqa: F401  (fixture)

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
    worker = Process("kill-worker", [str(BIN / "celery"), "-A", "worker.main:celery_app", "worker", "--concurrency=1",
                                     "--loglevel=INFO", f"--hostname=kill-{os.getpid()}@%h"], env, tmp_path)
    sender = make_app(REDIS_URL=isolated, MONITORING_SHARD_SIZE=1, CELERY={})
    killed = False
    try:
        with sender.app_context():
            wait_until(lambda: sender.extensions["celery"].control.ping(timeout=0.5), 30, "the worker")
            sender.extensions["celery"].send_task("learnpulse.monitoring.sweep", args=["engagement"])
            deadline = time.monotonic() + 20
            while not killed and time.monotonic() < deadline:
                if broker.hlen("unacked") and broker.exists("learnpulse:monitoring:engagement"):  # a shard is running
                    for child in psutil.Process(worker.popen.pid).children():  # --concurrency=1: the pool process
                        os.kill(child.pid, signal.SIGKILL)
                        killed = True
                time.sleep(0.002)
            assert killed, "never caught the worker in the middle of a shard"
            wait_until(lambda: broker.hget("learnpulse:monitoring:engagement", "finished_at"), 60,
                       "every shard to complete after the kill")
        db.session.rollback()  # read what the worker committed
        assert open_alerts() == EXPECTED["engagement"]
        per_rule = db.session.execute(sa.select(Alert.learner_id, Alert.rule, sa.func.count())
                                      .group_by(Alert.learner_id, Alert.rule)).all()
        assert all(count == 1 for _, _, count in per_rule)
        assert "WorkerLostError" in worker.output() or "signal 9" in worker.output()
    except AssertionError:
        print(worker.output())
        raise
    finally:
        worker.stop()
        broker.flushdb()
