"""WebSocket endpoints. `/ws` lets the client choose channels; the others follow the caller's own
(learner: themself; educator: their sections; admin: everything), filtered by message type."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request

from api.errors import ApiError
from api.extensions import sock
from api.realtime import bp
from api.realtime.session import serve

ALERT_TYPES = frozenset({"alert", "alert_resolved", "achievement"})
METRIC_TYPES = frozenset({"metrics_update"})
ACTIVITY_TYPES = frozenset({"activity", "grade_update", "attendance_update", "exam_created"})


def origin_allowed(origin: str | None, host: str, allowed: tuple[str, ...]) -> bool:
    """Browsers always send Origin: accept the allow-list ("*" for any), or the same host when the
    list is empty. Clients that send no Origin (servers, scripts) cannot be forged into by a page."""
    if not origin:
        return True
    if "*" in allowed or origin.rstrip("/") in allowed:
        return True
    return not allowed and urlsplit(origin).netloc == host


@bp.before_request
def before_handshake() -> None:
    """Refuse cross-site WebSocket hijacking before the handshake (403, plain JSON error), and
    decline compression: a per-socket deflate context costs ~80 KB, and messages are framed once
    for all sockets (see protocol.text_frame), which compression would make per-socket work."""
    origin = request.headers.get("Origin")
    if not origin_allowed(origin, request.host, current_app.config["WS_ALLOWED_ORIGINS"]):
        raise ApiError(403, f"origin {origin!r} is not allowed (set WS_ALLOWED_ORIGINS)", "origin_not_allowed")
    request.environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)


@sock.route("/ws", bp=bp)
def ws_channels(ws):
    """Subscribe to channels by message: {"type": "subscribe", "channel": "learner:<id>", "last_id"?}."""
    serve(ws, "any", None)


# The caller's own channels, filtered: endpoint -> (message types forwarded (None: all), what it is for).
PERSONAL_ENDPOINTS = {
    "dashboard": (None, "dashboard_initial_data, then every live message for the caller."),
    "alerts": (ALERT_TYPES, "alert, alert_resolved and achievement for the caller."),
    "metrics": (METRIC_TYPES, "metrics_update for the caller."),
    "activity": (ACTIVITY_TYPES, "activity, grade_update, attendance_update and exam_created for the caller."),
}


def _personal(endpoint: str, types: frozenset[str] | None, doc: str):
    def view(ws):
        serve(ws, endpoint, types)

    view.__name__, view.__doc__ = f"ws_{endpoint}", doc
    return view


for _endpoint, (_types, _doc) in PERSONAL_ENDPOINTS.items():
    sock.route(f"/ws/{_endpoint}/", bp=bp)(_personal(_endpoint, _types, _doc))


@sock.route("/ws/performance/<educator_id>", bp=bp)
def ws_performance(ws, educator_id: str):
    """Everything about one educator's classes (for that educator and admins)."""
    serve(ws, "performance", None, educator_id)
