"""Celery bound to the Flask app: every task runs inside the app context."""
from __future__ import annotations

import redis
from celery import Celery, Task
from celery.signals import worker_process_init
from flask import Flask

from models import db


def redis_client() -> redis.Redis:
    """The app's shared Redis client (created in celery_init_app)."""
    from flask import current_app  # noqa: PLC0415

    return current_app.extensions["redis"]


REDIS_POOL_SIZE = 50  # connections per process; more callers wait for one (at most REDIS_POOL_WAIT seconds)
REDIS_POOL_WAIT = 5.0


def shared_redis(url: str) -> redis.Redis:
    """A process's Redis client. The pool blocks when all its connections are busy instead of failing:
    a gevent web process serves thousands of requests and sockets at once, and redis-py's default
    pool raises "Too many connections" past 100."""
    pool = redis.BlockingConnectionPool.from_url(url, max_connections=REDIS_POOL_SIZE, timeout=REDIS_POOL_WAIT,
                                                 socket_timeout=5, socket_connect_timeout=2, health_check_interval=30)
    return redis.Redis(connection_pool=pool)


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app from celeryconfig.py plus the broker URL (CELERY_BROKER_URL, else REDIS_URL)."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object("celeryconfig")
    broker = app.config.get("CELERY_BROKER_URL") or app.config["REDIS_URL"]
    celery_app.conf.update(broker_url=broker, **app.config.get("CELERY", {}))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    app.extensions["redis"] = shared_redis(app.config["REDIS_URL"])
    import worker.tasks  # noqa: F401  (registers the shared tasks)

    def fresh_connections(**_: object) -> None:
        """A forked pool process must not reuse connections opened by its parent."""
        with app.app_context():
            db.engine.dispose(close=False)

    worker_process_init.connect(fresh_connections, weak=False)
    return celery_app
