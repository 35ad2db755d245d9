"""The one JSON error shape of the API: {"error": {"status", "code", "message", "details"}}."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    """Raised anywhere in a request to answer with a JSON error."""

    def __init__(
        self, status: int, message: str, code: str | None = None, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _default_code(status)
        self.details = details or []


def _default_code(status: int) -> str:
    return {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "payload_too_large",
        414: "uri_too_long",
        415: "unsupported_media_type",
        422: "validation_failed",
        429: "too_many_requests",
        431: "headers_too_large",
        503: "unavailable",
    }.get(status, "error")


def field_error(path: str, reason: str) -> dict[str, str]:
    """One entry of `details`: which field, and why it was refused."""
    return {"path": path, "reason": reason}


def error_body(
    status: int, message: str, code: str | None = None, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The error document itself, also written by the web server's worker for requests Flask never sees."""
    return {
        "error": {"status": status, "code": code or _default_code(status), "message": message, "details": details or []}
    }


def error_response(
    status: int, message: str, code: str | None = None, details: list[dict[str, Any]] | None = None
) -> ResponseReturnValue:
    """Build the JSON error response every endpoint uses."""
    response = jsonify(error_body(status, message, code, details))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="learnpulse"'
    return response


def register_error_handlers(app: Flask) -> None:
    """Turn ApiError and every HTTPException into the JSON shape."""

    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError) -> ResponseReturnValue:
        return error_response(error.status, error.message, error.code, error.details)

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> ResponseReturnValue:
        status = error.code or 500
        message = error.description or error.name
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = f"request body is larger than the {limit} byte limit"
        response = error_response(status, message)
        for name, value in error.get_headers():  # Allow (405), Retry-After (429, 503): they mean something
            if name.lower() != "content-type":
                response.headers[name] = value
        return response
