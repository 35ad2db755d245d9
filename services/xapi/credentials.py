"""HTTP Basic credentials for LRS clients: created by an admin, shown once, stored as a digest, revocable.

The secret is 32 random bytes, so a plain SHA-256 digest is enough (a slow password hash protects
guessable passwords; it would only slow down every statement request here).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa

from models import XapiCredential, db


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_credential(name: str) -> tuple[str, str]:
    """A new (key, secret) pair; only its digest is stored, so the secret cannot be shown again."""
    key, secret = secrets.token_hex(16), secrets.token_urlsafe(32)
    db.session.add(XapiCredential(key=key, name=name, secret_hash=_digest(secret)))
    db.session.commit()
    return key, secret


def list_credentials() -> list[XapiCredential]:
    """Every credential, newest first, revoked ones included."""
    return list(db.session.scalars(sa.select(XapiCredential).order_by(XapiCredential.id.desc())))


def revoke_credential(key: str) -> bool:
    """Revoke at once (the next request with it gets 401); False if no active credential has this key."""
    credential = db.session.scalar(
        sa.select(XapiCredential).where(XapiCredential.key == key, XapiCredential.revoked_at.is_(None))
    )
    if credential is None:
        return False
    credential.revoked_at = datetime.now(UTC)
    db.session.commit()
    return True


def verify_credential(key: str, secret: str) -> XapiCredential | None:
    """The active credential with this key whose secret matches, else None."""
    credential = db.session.scalar(
        sa.select(XapiCredential).where(XapiCredential.key == key, XapiCredential.revoked_at.is_(None))
    )
    if credential is None or not hmac.compare_digest(credential.secret_hash, _digest(secret)):
        return None
    return credential
