"""Analytics endpoints: a learner in depth, and cohorts (section, course, subject, exam) in aggregate."""

from flask import Blueprint

bp = Blueprint("analytics", __name__)

from api.analytics import routes  # noqa: E402,F401
