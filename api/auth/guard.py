"""Authentication for every request: the bearer token names an active user whose role still matches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TypeVar

import sqlalchemy as sa
from flask import current_app, g, request

from api.auth.tokens import TokenError, decode_token
from api.errors import ApiError
from models import User, db

F = TypeVar("F", bound=Callable)


@dataclass(frozen=True)
class Principal:
    """Who is calling: enough for every access decision, loaded without building an ORM entity."""

    id: int
    external_id: str
    role: str


_PRINCIPAL_QUERY = sa.select(User.id, User.external_id, User.role).where(
    User.external_id == sa.bindparam("sub"), User.role == sa.bindparam("role"), User.active.is_(True)
)


def authenticate(token: str) -> tuple[Principal, float]:
    """Resolve a token to its caller and its expiry (epoch seconds), refusing unknown, inactive or
    re-roled users. Long-lived connections use the expiry to end the session when the token does."""
    try:
        claims = decode_token(current_app.config["SECRET_KEY"], token)
    except TokenError as exc:
        raise ApiError(401, str(exc), "invalid_token") from exc
    row = db.session.execute(_PRINCIPAL_QUERY, {"sub": claims["sub"], "role": claims["role"]}).first()
    if row is None:
        raise ApiError(401, "token does not name an active user with that role", "invalid_token")
    return Principal(*row), float(claims["exp"])


def principal_from_token(token: str) -> Principal:
    """Resolve a token to its caller."""
    return authenticate(token)[0]


def bearer_token() -> str:
    """The token from the Authorization header."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "send an Authorization: Bearer <token> header", "missing_token")
    return token.strip()


def current_user() -> Principal:
    """The authenticated caller of this request."""
    return g.current_user


def require_auth(*roles: str) -> Callable[[F], F]:
    """Authenticate the request; with roles, refuse (403) any other role."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = principal_from_token(bearer_token())
            if roles and user.role not in roles:
                raise ApiError(403, f"this endpoint is for the {', '.join(roles)} role(s), not {user.role}")
            g.current_user = user
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
