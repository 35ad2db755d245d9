"""Reading learners: who you can see, their events and their running counters."""

from flask import Blueprint

bp = Blueprint("learners", __name__)

from api.learners import routes, sessions  # noqa: E402,F401
