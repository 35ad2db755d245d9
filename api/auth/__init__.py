"""Authentication endpoints: service-minted user tokens and `who am I`."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from api.auth import routes  # noqa: E402,F401
