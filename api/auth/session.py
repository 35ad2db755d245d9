"""Browser sessions: a signed, HttpOnly cookie made from a verified token, plus its CSRF token.

The cookie holds the user, role, expiry (the token's own expiry, never later) and a random CSRF
token, signed with SECRET_KEY under its own salt, so a cookie value is never accepted as a bearer
token and a bearer token never as a cookie. It is checked by the same rules as bearer auth
(active user, unchanged role, not expired) on every request; see api.auth.guard.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE_NAME = "learnpulse_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SALT = "learnpulse.browser-session"


@dataclass(frozen=True)
class BrowserSession:
    """The signed content of the session cookie."""

    sub: str
    role: str
    exp: float
    csrf: str
    issued_ms: int = 0  # when the session began: revoking the user's tokens ends it too


def _https() -> bool:
    """Was the page asked for over HTTPS? Also behind a TLS-terminating proxy (X-Forwarded-Proto): the
    header only ever adds the Secure flag, which cannot weaken anything, so it need not be trusted."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.is_secure or forwarded == "https" or bool(current_app.config.get("SESSION_COOKIE_SECURE"))


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def start_session(response: Response, sub: str, role: str, exp: float) -> BrowserSession:
    """Set the session cookie on `response`; it lives no longer than the token it came from."""
    session = BrowserSession(sub, role, exp, secrets.token_urlsafe(32), int(time.time() * 1000))
    value = _serializer().dumps(
        {"sub": sub, "role": role, "exp": exp, "csrf": session.csrf, "iat_ms": session.issued_ms}
    )
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=max(0, int(exp - time.time())),
        expires=int(exp),
        path="/",
        secure=_https(),
        httponly=True,
        samesite="Lax",
    )
    return session


def end_session(response: Response) -> None:
    """Clear the session cookie."""
    response.delete_cookie(COOKIE_NAME, path="/", secure=_https(), httponly=True, samesite="Lax")


def read_session() -> BrowserSession | None:
    """The request's unexpired, correctly signed session, or None."""
    raw = request.cookies.get(COOKIE_NAME)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw)
        session = BrowserSession(
            str(data["sub"]), str(data["role"]), float(data["exp"]), str(data["csrf"]), int(data.get("iat_ms", 0))
        )
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    return session if session.exp > time.time() else None


def has_session_cookie() -> bool:
    """True when the request carries a session cookie at all (valid or not)."""
    return bool(request.cookies.get(COOKIE_NAME))


def csrf_ok(session: BrowserSession) -> bool:
    """The request proves it came from our page: the session's CSRF token in a header or form field."""
    sent = request.headers.get(CSRF_HEADER) or (
        request.form.get(CSRF_FORM_FIELD) if request.mimetype == "application/x-www-form-urlencoded" else None
    )
    return bool(sent) and hmac.compare_digest(sent.encode(), session.csrf.encode())
