"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>" with the endpoint's secret, as Stripe does.

Header: `X-LearnPulse-Signature: t=<unix seconds>,v1=<hex digest>`. A receiver recomputes the digest
over the raw body, compares in constant time, and refuses stale timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "X-LearnPulse-Signature"
EVENT_HEADER = "X-LearnPulse-Event"
DELIVERY_HEADER = "X-LearnPulse-Delivery"
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300  # seconds a receiver should accept between the timestamp and its clock


def new_secret() -> str:
    """A fresh endpoint secret (shown to its owner once)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of "<timestamp>.<body>"."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for a body signed now (or at `timestamp`)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return f"t={stamp},v1={signature(secret, stamp, body)}"


def verify(secret: str, header: str, body: bytes, tolerance: int = DEFAULT_TOLERANCE, now: float | None = None) -> bool:
    """What a receiver does: True if a v1 signature in `header` matches and its timestamp is recent."""
    parts = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for key, value in parts if key == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    stamp = int(stamps[0])
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        return False
    expected = signature(secret, stamp, body)
    return any(hmac.compare_digest(expected, value) for key, value in parts if key == "v1")
