"""The product brief's REST API (`/api/progress/...` and `/api/v1/progress/...`), served from our own data."""

from flask import Blueprint, Flask

bp = Blueprint("progress", __name__)
# Routes whose /api/v1/progress twin is served by another blueprint (api.alerts): unversioned prefix only.
unversioned_bp = Blueprint("progress_unversioned", __name__)

from api.progress import alerts, dashboard, jobs, me_alias, predictions, track  # noqa: E402,F401

PREFIXES = {"progress": "/api/progress", "progress_v1": "/api/v1/progress"}


def register_progress(app: Flask) -> None:
    """Both prefixes the brief's clients use, and `me` in learner paths."""
    for name, prefix in PREFIXES.items():
        app.register_blueprint(bp, url_prefix=prefix, name=name)
    app.register_blueprint(unversioned_bp, url_prefix=PREFIXES["progress"])
    me_alias.register(app)
