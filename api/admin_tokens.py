"""POST /api/v1/admin/users/<id>/revoke-tokens: credential revocation and rotation for admins."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint

from api.access import find_or_404
from api.auth.guard import current_user, require_auth
from api.realtime.announce import revoke_sockets
from models import User, db
from services.credentials import revoke_tokens

bp = Blueprint("admin_tokens", __name__)


@bp.post("/admin/users/<external_id>/revoke-tokens")
@require_auth("admin")
def revoke_user_tokens(external_id: str):
    """Every token and sign-in session of this user issued until now stops working; open sockets close."""
    user = find_or_404(User, external_id, "user")
    cutoff = revoke_tokens(user, current_user().id, current_user().external_id)
    db.session.commit()
    revoke_sockets(user.id)
    return {"user": user.external_id, "tokens_valid_after": datetime.fromtimestamp(cutoff / 1000, UTC).isoformat()}
