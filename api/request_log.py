"""One log line per HTTP request, with a request id (taken from X-Request-ID or made up) echoed back."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from services.log_setup import request_id

log = logging.getLogger("learnpulse.request")
ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # a caller's id is kept only if it is safe to log


def register_request_log(app: Flask) -> None:
    """Tag each request with an id and log method, path, status and duration when it ends."""

    @app.before_request
    def start() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if ACCEPTED_ID.match(given) else uuid.uuid4().hex[:16]
        g.request_started = time.perf_counter()
        request_id.set(g.request_id)

    @app.after_request
    def finish(response: Response) -> Response:
        rid = g.get("request_id")
        if rid is None:
            return response
        response.headers["X-Request-ID"] = rid
        elapsed_ms = (time.perf_counter() - g.request_started) * 1000
        log.info(
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            elapsed_ms,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed_ms, 1),
            },
        )
        return response
