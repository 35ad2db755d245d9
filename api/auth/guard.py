"""Authentication for every request: the bearer token (or, for browsers, the session cookie) names an
active user whose role still matches."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TypeVar

import redis
import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request

from api.auth.session import SAFE_METHODS, BrowserSession, csrf_ok, has_session_cookie, read_session
from api.auth.token_cache import TokenCache
from api.auth.tokens import TokenError, decode_token, issued_ms
from api.errors import ApiError
from api.rate_limit_storage import GENERATION_ENVIRON_KEY
from models import User, db
from services.clients import redis_client
from services.credentials import credentials_generation

F = TypeVar("F", bound=Callable)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    """Who is calling: enough for every access decision, loaded without building an ORM entity."""

    id: int
    external_id: str
    role: str


_PRINCIPAL_QUERY = sa.select(User.id, User.external_id, User.role).where(
    User.external_id == sa.bindparam("sub"),
    User.role == sa.bindparam("role"),
    User.active.is_(True),
    sa.or_(User.tokens_valid_after_ms.is_(None), User.tokens_valid_after_ms <= sa.bindparam("issued_ms")),
)


def authenticate(token: str) -> tuple[Principal, float]:
    """Resolve a token to its caller and its expiry (epoch seconds), refusing unknown, inactive or
    re-roled users. Long-lived connections use the expiry to end the session when the token does.
    A token verified moments ago under the same credentials generation is not verified again."""
    cache: TokenCache[Principal] = current_app.extensions["token_cache"]
    generation = _generation() if cache.size > 0 else None
    if generation is not None:
        found = cache.get(token, generation)
        if found is not None:
            return found
    try:
        claims = decode_token(current_app.config["SECRET_KEY"], token)
    except TokenError as exc:
        raise ApiError(401, str(exc), "invalid_token") from exc
    principal = principal_for(claims["sub"], claims["role"], issued=issued_ms(claims))
    if generation is not None:
        cache.put(token, principal, float(claims["exp"]), generation)
    return principal, float(claims["exp"])


def _generation() -> bytes | None:
    """The credentials generation now (read along with this request's rate-limit count when it has one),
    or None (Redis unreachable: verify every token in full)."""
    known = request.environ.get(GENERATION_ENVIRON_KEY) if has_request_context() else None
    if known is not None:
        return known
    try:
        return credentials_generation(redis_client())
    except redis.RedisError as exc:
        log.warning("token cache off for this request, Redis unreachable: %s", exc)
        return None


def init_token_cache(app: Flask) -> None:
    """This process's remembered token verifications (AUTH_CACHE_SIZE entries, AUTH_CACHE_SECONDS each)."""
    app.extensions["token_cache"] = TokenCache[Principal](
        int(app.config.get("AUTH_CACHE_SIZE", 0)), float(app.config.get("AUTH_CACHE_SECONDS", 0))
    )


def principal_for(sub: str, role: str, code: str = "invalid_token", issued: int = 0) -> Principal:
    """The active user with this external id and role whose credentials issued at `issued` (epoch ms) are
    not revoked; 401 otherwise (deactivated, re-roled, or tokens revoked since)."""
    row = db.session.execute(_PRINCIPAL_QUERY, {"sub": sub, "role": role, "issued_ms": issued}).first()
    if row is None:
        what = "token" if code == "invalid_token" else "session"
        raise ApiError(401, f"{what} does not name an active user with that role, or was revoked", code)
    return Principal(*row)


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


def session_principal(session: BrowserSession) -> Principal:
    """The browser session's user, by the same rules as a bearer token's."""
    return principal_for(session.sub, session.role, "invalid_session", session.issued_ms)


def request_principal() -> Principal:
    """The bearer token when one is sent (exactly as before); otherwise the browser session cookie,
    which must carry the session's CSRF token on any request that can change state."""
    if request.headers.get("Authorization") or not has_session_cookie():
        return principal_from_token(bearer_token())
    session = read_session()
    if session is None:
        raise ApiError(401, "your session has expired or is not valid: sign in again", "invalid_session")
    if request.method not in SAFE_METHODS and not csrf_ok(session):
        raise ApiError(403, "send the page's CSRF token in the X-CSRF-Token header", "csrf_failed")
    return session_principal(session)


def current_user() -> Principal:
    """The authenticated caller of this request."""
    return g.current_user


def require_auth(*roles: str) -> Callable[[F], F]:
    """Authenticate the request; with roles, refuse (403) any other role."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = request_principal()
            if roles and user.role not in roles:
                raise ApiError(403, f"this endpoint is for the {', '.join(roles)} role(s), not {user.role}")
            g.current_user = user
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
