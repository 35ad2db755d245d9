"""Webhook endpoints (register, change, rotate, test, delivery log) and learners' guardian contacts."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__)

from api.webhooks import guardians, routes  # noqa: E402,F401
