"""`me` in `/api/v1/learners/me/...` stands for the signed-in user's external id."""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from api.auth.guard import bearer_token, principal_from_token
from api.errors import ApiError

ME = "me"
LEARNER_PATHS = ("/api/v1/learners/<external_id>", "/api/progress/", "/api/v1/progress/")


def rewrite_me(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Replace `me` by the caller's external id on GET learner paths; an unauthenticated caller keeps
    `me` and gets the view's own 401."""
    if not values or values.get("external_id") != ME or request.method not in ("GET", "HEAD"):
        return
    if request.url_rule is None or not request.url_rule.rule.startswith(LEARNER_PATHS):
        return
    try:
        values["external_id"] = principal_from_token(bearer_token()).external_id
    except ApiError:
        return


def register(app: Flask) -> None:
    """App-wide, so the learners and analytics blueprints need no change."""
    if rewrite_me not in app.url_value_preprocessors.get(None, []):
        app.url_value_preprocessor(rewrite_me)
