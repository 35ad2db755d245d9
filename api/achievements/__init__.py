"""Achievements: milestones learners reached (streaks, completions, perfect scores, personal bests)."""

from flask import Blueprint

bp = Blueprint("achievements", __name__)

from api.achievements import routes  # noqa: E402,F401
