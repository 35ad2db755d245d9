"""The school use case: bulk attendance and exam grades, landing in the same event log."""

from flask import Blueprint

bp = Blueprint("school", __name__)

from api.school import routes  # noqa: E402,F401
