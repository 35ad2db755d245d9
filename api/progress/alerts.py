"""GET performance-alerts/ (unversioned prefix; api.alerts serves the v1 path) and notifications/: both
answered by the alert routes themselves, so the brief's paths and ours can never disagree."""

from __future__ import annotations

from api.alerts import routes as alert_routes
from api.auth.guard import require_auth
from api.progress import bp, unversioned_bp


@unversioned_bp.get("/performance-alerts/")
@require_auth()
def performance_alerts():
    """The brief's unversioned path: the same answer as /api/v1/progress/performance-alerts/."""
    return alert_routes.performance_alerts.__wrapped__()


@bp.get("/notifications/")
@require_auth()
def notifications():
    """The same answer as /api/v1/notifications/: open alerts matching your preferences."""
    return alert_routes.notifications.__wrapped__()
