"""The WebSocket endpoints in the document: OpenAPI 3 has no WebSocket object, so each is a GET answered by 101."""

from __future__ import annotations

from typing import Any

from api.openapi.kit import ERROR_CONTENT, WEBSOCKET_NOTE, _op
from api.realtime.routes import PERSONAL_ENDPOINTS


def websocket_paths() -> dict[str, Any]:
    """The WebSocket endpoints: OpenAPI 3 has no WebSocket object, so each is a GET answered by 101."""

    def ws(summary: str) -> dict[str, Any]:
        op = _op(
            summary,
            "any authenticated user (via the token)",
            public=True,
            query=("token", "last_id"),
            responses={
                "101": {"description": "switching to the WebSocket protocol"},
                "403": {"description": "Origin not allowed", "content": ERROR_CONTENT},
            },
        )
        op["description"] = f"{op['description']} {WEBSOCKET_NOTE}"
        return {"get": op}

    return {
        "/ws": ws('Follow channels chosen by message: {"type": "subscribe", "channel": "learner:<id>"}'),
        **{f"/ws/{name}/": ws(doc.rstrip(".")) for name, (_, doc) in PERSONAL_ENDPOINTS.items()},
        "/ws/performance/{educator_id}": ws("Everything about one educator's classes (the educator, admins)"),
    }
