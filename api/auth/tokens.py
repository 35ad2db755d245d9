"""JWT bearer tokens: HS256 pinned, expiry enforced, `sub` (external id) and `role` claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

ALGORITHM = "HS256"
ISSUER = "learnpulse"
REQUIRED_CLAIMS = ["sub", "role", "exp", "iat", "iss"]


class TokenError(Exception):
    """The token is missing, malformed, expired or not signed by us."""


def issue_token(secret: str, external_id: str, role: str, ttl_seconds: int) -> tuple[str, datetime]:
    """Sign a token for one user; returns the token and when it expires."""
    now = datetime.now(UTC)
    expires_at = now + timedelta(seconds=ttl_seconds)
    claims = {
        "sub": external_id,
        "role": role,
        "iat": now,
        "iat_ms": int(now.timestamp() * 1000),  # iat is whole seconds: revocation needs a finer instant
        "exp": expires_at,
        "iss": ISSUER,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires_at


def issued_ms(claims: dict[str, Any]) -> int:
    """When a token was issued, in epoch ms (tokens from before `iat_ms` existed: their whole-second iat)."""
    value = claims.get("iat_ms")
    return int(value) if isinstance(value, int) else int(claims["iat"]) * 1000


def decode_token(secret: str, token: str) -> dict[str, Any]:
    """Verify signature, algorithm, issuer and expiry; return the claims."""
    try:
        return jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"invalid token: {exc}") from exc
