"""Browser pages: sign-in by link, the learner/educator/admin dashboards, and their security headers."""

from flask import Blueprint

bp = Blueprint("pages", __name__)

from api.pages import routes, security  # noqa: E402,F401
