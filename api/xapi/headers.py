"""The version header xAPI requires on every request (but /about) and sends on every response."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Response, request

from api.errors import ApiError
from api.xapi import bp
from services.xapi.formats import iso_utc
from services.xapi.statements import VERSION

VERSION_HEADER = "X-Experience-API-Version"
ACCEPTED_VERSION = re.compile(r"^1\.0(\.\d+)?$")


@bp.before_request
def require_version() -> None:
    """400 without a 1.0.x version header: a client speaking another version would be misread."""
    if request.endpoint == "xapi.about":
        return
    sent = request.headers.get(VERSION_HEADER)
    if sent is None:
        raise ApiError(400, f"send the {VERSION_HEADER} header (this LRS speaks {VERSION})", "xapi_version_missing")
    if not ACCEPTED_VERSION.match(sent.strip()):
        raise ApiError(
            400, f"{VERSION_HEADER} {sent!r} is not supported: this LRS speaks 1.0.x ({VERSION})", "xapi_version"
        )


@bp.after_app_request
def add_headers(response: Response) -> Response:
    """Every /xapi/ response, errors included, says the version; statements responses how fresh they are."""
    if request.path.startswith("/xapi/"):
        response.headers[VERSION_HEADER] = VERSION
        if request.path.rstrip("/") == "/xapi/statements":
            response.headers["X-Experience-API-Consistent-Through"] = iso_utc(datetime.now(UTC))
        if response.status_code == 401:
            response.headers.add("WWW-Authenticate", 'Basic realm="learnpulse-xapi"')
    return response
