"""GET /health: database, Redis and worker status, for load balancers and operators."""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
import sqlalchemy as sa
from flask import Blueprint, current_app

from api.realtime.process_hub import realtime_status
from models import db
from services.xapi.metrics import xapi_counts

bp = Blueprint("health", __name__)
_worker_cache: dict[str, Any] = {"at": 0.0, "value": None}
# One ping at a time per process: two concurrent Celery pings on the process's broker connection
# (a client that timed out and retried while the first still waits) could wait for each other forever.
_ping_lock = threading.Lock()
WORKER_CACHE_SECONDS = 5.0


def _check_database() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        db.session.rollback()
        return {"ok": False, "error": type(exc).__name__}
    db.session.rollback()  # hand the connection back before the slower Redis and worker checks
    return {
        "ok": True,
        "backend": db.engine.dialect.name,
        "latency_ms": round(1000 * (time.perf_counter() - started), 2),
    }


def _check_redis() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        current_app.extensions["redis"].ping()
    except redis.RedisError as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "latency_ms": round(1000 * (time.perf_counter() - started), 2)}


def _check_workers() -> dict[str, Any]:
    """Ping the Celery workers; cached briefly because a ping waits for replies."""
    with _ping_lock:
        if time.monotonic() - _worker_cache["at"] < WORKER_CACHE_SECONDS and _worker_cache["value"]:
            return _worker_cache["value"]
        try:
            replies = current_app.extensions["celery"].control.ping(timeout=current_app.config["WORKER_PING_TIMEOUT"])
        except (redis.RedisError, OSError) as exc:
            return {"ok": False, "count": 0, "error": type(exc).__name__}
    names = sorted(name for reply in replies for name in reply)
    value = {"ok": bool(names), "count": len(names), "names": names}
    _worker_cache.update(at=time.monotonic(), value=value)
    return value


@bp.get("/health")
def health():
    """200 while the database and Redis answer (status "degraded" if no worker does), else 503."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    checks["worker"] = _check_workers() if checks["redis"]["ok"] else {"ok": False, "count": 0}
    serving = checks["database"]["ok"] and checks["redis"]["ok"]
    checks["realtime"] = realtime_status()  # this web process's live-update subscriber (informational)
    if checks["redis"]["ok"]:  # informational: xAPI statements stored, and those that produced no event
        checks["xapi"] = xapi_counts()
    status = "ok" if serving and checks["worker"]["ok"] else ("degraded" if serving else "unavailable")
    return {"status": status, "checks": checks}, (200 if serving else 503)
