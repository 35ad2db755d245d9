"""Live updates over WebSocket: /ws and the per-purpose endpoints, fed by Redis pub/sub."""

from flask import Blueprint

bp = Blueprint("realtime", __name__)

from api.realtime import routes  # noqa: E402,F401
