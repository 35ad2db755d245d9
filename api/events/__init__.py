"""Event ingestion: POST /events."""

from flask import Blueprint

bp = Blueprint("events", __name__)

from api.events import routes  # noqa: E402,F401
