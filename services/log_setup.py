"""Logging for web and worker processes: one line per request or task, tagged with its request id,
as plain text or JSON lines (LOG_FORMAT=json) for log collectors."""

from __future__ import annotations

import json
import logging
import os
import time
from contextvars import ContextVar
from datetime import UTC, datetime

request_id: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Stamp each record with the id of the request or task being handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request id, message, and any `extra` fields."""

    STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "request_id", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in self.STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


def configure_logging(level: str | None = None, fmt: str | None = None) -> None:
    """Configure the root logger once per process (LOG_LEVEL, LOG_FORMAT=text|json)."""
    root = logging.getLogger()
    if any(isinstance(f, RequestIdFilter) for h in root.handlers for f in h.filters):
        return
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    use_json = (fmt or os.environ.get("LOG_FORMAT", "text")).lower() == "json"
    handler.setFormatter(JsonLineFormatter() if use_json else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))


def log_celery_tasks() -> None:
    """Worker processes log like web ones: our handler (not Celery's), and one line per task with its id."""
    from celery.signals import setup_logging, task_postrun, task_prerun

    if getattr(log_celery_tasks, "connected", False):
        return  # once per process, however many apps the tests build
    log_celery_tasks.connected = True  # type: ignore[attr-defined]
    started: dict[str, float] = {}
    task_log = logging.getLogger("learnpulse.task")

    def use_ours(**_: object) -> None:
        configure_logging()

    def begin(task_id: str, **_: object) -> None:
        request_id.set(task_id)
        started[task_id] = time.perf_counter()

    def end(task_id: str, task: object, state: str | None = None, **_: object) -> None:
        elapsed_ms = (time.perf_counter() - started.pop(task_id, time.perf_counter())) * 1000
        name = getattr(task, "name", "?")
        task_log.info(
            "%s %s %.1fms",
            name,
            state,
            elapsed_ms,
            extra={"task": name, "state": state, "duration_ms": round(elapsed_ms, 1)},
        )
        request_id.set("-")

    setup_logging.connect(use_ours, weak=False)
    task_prerun.connect(begin, weak=False)
    task_postrun.connect(end, weak=False)
