"""POST /auth/token (services mint short-lived user tokens) and GET /me."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from api.audit import audit
from api.auth import bp
from api.auth.guard import current_user, require_auth
from api.auth.tokens import issue_token
from api.errors import ApiError
from api.serializers import user_json
from api.validation import Field, json_body, validated
from models import User, db

MINTABLE_ROLES = {"service": ("learner", "educator"), "admin": ("learner", "educator", "admin", "service")}


@bp.post("/auth/token")
@require_auth("service", "admin")
def mint_token():
    """A short-lived token for one user, so the LMS can hand its users a LearnPulse session."""
    max_ttl = current_app.config["SERVICE_TOKEN_MAX_TTL"]
    body = validated(
        json_body(),
        {"user": Field("str", required=True, max_length=128), "ttl": Field("int", minimum=1, maximum=max_ttl)},
    )
    user = db.session.scalar(sa.select(User).where(User.external_id == body["user"]))
    if user is None or not user.active:
        raise ApiError(404, f"no active user {body['user']!r}")
    if user.role not in MINTABLE_ROLES[current_user().role]:
        raise ApiError(403, f"a {current_user().role} cannot mint tokens for a {user.role}")
    ttl = body.get("ttl", min(900, max_ttl))
    token, expires_at = issue_token(current_app.config["SECRET_KEY"], user.external_id, user.role, ttl)
    audit("token.minted", f"user:{user.external_id}", ttl=ttl, role=user.role)
    db.session.commit()
    return {
        "token": token,
        "token_type": "Bearer",
        "expires_at": expires_at.isoformat(),
        "expires_in": ttl,
        "user": user_json(user),
    }, 201


@bp.get("/me")
@require_auth()
def me():
    """The authenticated user."""
    return user_json(db.session.get(User, current_user().id))
