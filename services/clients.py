"""Process-wide clients (Redis pool, Celery app), created once by the app factory and read from the app."""

from __future__ import annotations

import redis
from celery import Celery, Task
from celery.signals import worker_process_init
from flask import Flask, current_app
from redis.commands.core import Script
from sqlalchemy.exc import OperationalError

from models import db
from services.log_setup import log_celery_tasks
from services.resp_packer import RespPacker

REDIS_POOL_SIZE = 50  # connections per process; more callers wait for one (at most REDIS_POOL_WAIT seconds)
REDIS_POOL_WAIT = 5.0
TRANSIENT = (OperationalError, redis.ConnectionError, redis.TimeoutError)


def redis_client() -> redis.Redis:
    """The app's shared Redis client (created in init_clients)."""
    return current_app.extensions["redis"]


def app_script(name: str, source: str) -> Script:
    """A Lua script registered once per app on its Redis client (building a `Script` hashes its source:
    per request, that was CPU spent for nothing)."""
    scripts = current_app.extensions
    script = scripts.get(name)
    if script is None:
        script = scripts[name] = redis_client().register_script(source)
    return script


def shared_redis(url: str) -> redis.Redis:
    """A process's Redis client. The pool blocks when all its connections are busy instead of failing:
    a gevent web process serves thousands of requests and sockets at once, and redis-py's default
    pool raises "Too many connections" past 100."""
    pool = redis.BlockingConnectionPool.from_url(
        url,
        max_connections=REDIS_POOL_SIZE,
        timeout=REDIS_POOL_WAIT,
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=30,
        command_packer=RespPacker(),  # the same bytes as redis-py's packer, for a fraction of the CPU
    )
    return redis.Redis(connection_pool=pool)


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app from celeryconfig.py plus the broker URL (CELERY_BROKER_URL, else REDIS_URL).

    Tasks are declared with @shared_task in worker/tasks.py and registered by the worker's entry point;
    the web process only sends them by name."""

    class FlaskTask(Task):
        """Every task runs inside the app context; transient database or Redis errors retry with
        backoff (one policy for all tasks), anything else propagates so Celery records the failure."""

        autoretry_for = TRANSIENT
        retry_backoff = True
        retry_backoff_max = 60
        max_retries = 5

        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object("celeryconfig")
    broker = app.config.get("CELERY_BROKER_URL") or app.config["REDIS_URL"]
    celery_app.conf.update(broker_url=broker, **app.config.get("CELERY", {}))
    celery_app.set_default()
    app.extensions["celery"] = celery_app

    def fresh_connections(**_: object) -> None:
        """A forked pool process must not reuse connections opened by its parent."""
        with app.app_context():
            db.engine.dispose(close=False)

    worker_process_init.connect(fresh_connections, weak=False)
    log_celery_tasks()
    return celery_app


def init_clients(app: Flask) -> None:
    """Bind this process's Redis pool and Celery app to the Flask app."""
    app.extensions["redis"] = shared_redis(app.config["REDIS_URL"])
    celery_init_app(app)
