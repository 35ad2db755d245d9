"""Alerts for people: lists with statistics, acknowledgement, history, preferences, notifications, thresholds."""

from flask import Blueprint

bp = Blueprint("alerts", __name__)

from api.alerts import feedback, routes, thresholds  # noqa: E402,F401
