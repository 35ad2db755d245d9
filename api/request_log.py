"""One log line per HTTP request, with a request id (taken from X-Request-ID or made up) echoed back."""

from __future__ import annotations

import logging
import random
import re
import time

from flask import Flask, Response, g, request

from services.log_setup import request_id

log = logging.getLogger("learnpulse.request")
ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # a caller's id is kept only if it is safe to log


def register_request_log(app: Flask) -> None:
    """Tag each request with an id and log method, path, status and duration when it ends."""

    @app.before_request
    def start() -> None:
        given = request.headers.get("X-Request-ID", "")
        # 64 random bits from the process's generator (reseeded in each forked worker): no system call per request,
        # as uuid4 made (os.urandom), for an id that only has to tell requests apart in the logs.
        g.request_id = given if ACCEPTED_ID.match(given) else f"{random.getrandbits(64):016x}"
        g.request_started = time.perf_counter()
        request_id.set(g.request_id)

    @app.after_request
    def finish(response: Response) -> Response:
        rid = g.get("request_id")
        if rid is None:
            return response
        response.headers["X-Request-ID"] = rid
        if not log.isEnabledFor(logging.INFO):  # the line would be dropped: do not build it (LOG_LEVEL=WARNING)
            return response
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
