"""OpenAPI description of /xapi/statements and /xapi/about (the xAPI 1.0.3 statements resource)."""

from __future__ import annotations

from typing import Any

from api.openapi.kit import ERROR

AUTH_NOTE = (
    "HTTP Basic with a credential from `flask xapi credentials create`, or a bearer token of the service or "
    "admin role. Every request but /xapi/about needs `X-Experience-API-Version: 1.0.x` (400 without it); every "
    "response carries `X-Experience-API-Version: 1.0.3`, statements responses also "
    "`X-Experience-API-Consistent-Through`. Errors use the API's JSON error shape with field paths. "
    "Mapping to LearnPulse events: README, xAPI."
)
VERSION_HEADER = {
    "name": "X-Experience-API-Version",
    "in": "header",
    "required": True,
    "schema": {"type": "string", "example": "1.0.3"},
}
STATEMENT = {"type": "object", "description": "an xAPI 1.0.3 Statement", "additionalProperties": True}
BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"oneOf": [STATEMENT, {"type": "array", "items": STATEMENT}]}}},
}
GET_PARAMS = (
    "statementId",
    "voidedStatementId",
    "agent",
    "verb",
    "activity",
    "registration",
    "since",
    "until",
    "limit",
    "ascending",
    "format",
    "cursor",
)


def _op(summary: str, responses: dict[str, Any], params: tuple[str, ...] = ()) -> dict[str, Any]:
    query = [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}} for name in params]
    return {
        "summary": summary,
        "description": AUTH_NOTE,
        "security": [{"bearer": []}, {"basic": []}],
        "parameters": [VERSION_HEADER, *query],
        "responses": {**responses, "400": ERROR, "401": ERROR, "403": ERROR},
    }


def xapi_paths() -> dict[str, Any]:
    """The two xAPI paths, fresh on every call (callers may change them)."""
    post = _op(
        "Store one statement or an array (all-or-nothing); 200 with their ids in order",
        {"200": {"description": "statement ids"}, "409": ERROR, "413": ERROR},
    )
    post["requestBody"] = BODY
    put = _op(
        "Store one statement under ?statementId= (204; the same statement again: 204; another: 409)",
        {"204": {"description": "stored"}, "409": ERROR},
        ("statementId",),
    )
    put["requestBody"] = {"required": True, "content": {"application/json": {"schema": STATEMENT}}}
    get = _op(
        "One statement (statementId, voidedStatementId) or a StatementResult {statements, more} filtered by agent, "
        "verb, activity, registration, since/until (stored), newest first unless ascending=true; `more` continues",
        {"200": {"description": "Statement or StatementResult"}, "404": ERROR},
        GET_PARAMS,
    )
    about = {
        "summary": "The xAPI versions this LRS speaks",
        "description": "No authentication and no version header needed.",
        "responses": {"200": {"description": '{"version": ["1.0.3"], "extensions": {}}'}},
    }
    return {"/xapi/statements": {"post": post, "put": put, "get": get}, "/xapi/about": {"get": about}}
