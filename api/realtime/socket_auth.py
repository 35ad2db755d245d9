"""Who is on a socket: the token from ?token= or a first auth message, checked before anything is sent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, request

from api.auth.guard import Principal, authenticate
from api.errors import ApiError
from api.realtime import protocol

CLOSE_BAD_REQUEST, CLOSE_UNAUTHORIZED, CLOSE_NOT_FOUND, CLOSE_AUTH_TIMEOUT = 4400, 4401, 4404, 4408


class Refused(Exception):
    """End the conversation: send `message` (an error), then close with `code`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Session:
    user: Principal
    expires_at: float
    last_id: str | dict[str, str] | None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)  # `session_id` of dashboard_initial_data


def authenticate_socket(ws: Any) -> Session:
    """Token from ?token= or from a first {"type": "auth"} message, checked before anything is sent."""
    try:
        last_id = protocol.parse_query_last_id(request.args.get("last_id"))
    except protocol.ProtocolError as exc:
        raise Refused(CLOSE_BAD_REQUEST, exc.as_error()) from exc
    token = request.args.get("token")
    if not token:
        raw = ws.receive(timeout=current_app.config["WS_AUTH_TIMEOUT"])
        if raw is None:
            raise Refused(
                CLOSE_AUTH_TIMEOUT, protocol.error("auth_timeout", 'send {"type": "auth", "token": ...} first')
            )
        try:
            message = protocol.parse_client_message(raw)
        except protocol.ProtocolError as exc:
            raise Refused(CLOSE_BAD_REQUEST, exc.as_error()) from exc
        if message.kind != "auth":
            raise Refused(
                CLOSE_UNAUTHORIZED,
                protocol.error(
                    "unauthorized", 'authenticate first: {"type": "auth", "token": ...} or ?token=', field="type"
                ),
            )
        token, last_id = message.token, message.last_id or last_id
    try:
        user, expires_at = authenticate(token)
    except ApiError as exc:
        raise Refused(CLOSE_UNAUTHORIZED, protocol.error(exc.code, exc.message)) from exc
    return Session(user, expires_at, last_id)
