"""Create/update entities idempotently by the sending platform's external id."""

from flask import Blueprint

bp = Blueprint("entities", __name__)

from api.entities import routes  # noqa: E402,F401
