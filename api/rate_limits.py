"""Rate limits (fixed windows counted in Redis, so they hold across web processes) and CORS.

Which requests are limited, and by what key, is decided here from the URL map, in one table:
ingest and token minting per credential, expensive reads per user, /login and WebSocket
connection attempts per IP address. A refused request gets 429 in our JSON error shape with
Retry-After. Limits are settings (RATE_LIMIT_*); RATE_LIMITS_ENABLED=false turns them off. One Redis
round trip per limited request (api/fixed_window.py, api/rate_limit_storage.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import Flask, current_app, request
from flask_cors import CORS
from werkzeug.routing import Rule

from api.auth.session import read_session
from api.fixed_window import init_limits
from api.rate_limit_storage import storage_uri

EXPENSIVE_PROGRESS = ("/real-time-dashboard/", "/predictive-analytics/", "/trend-analysis/", "/snapshots/create/")
INGEST_PATHS = ("/api/v1/events", "/api/v1/attendance", "/api/v1/exams/<external_id>/grades")


def credential_key() -> str:
    """The caller's credential: a digest of its bearer token (or xAPI Basic credential), else its browser session,
    else its address."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return "token:" + hashlib.sha256(header[7:].strip().encode()).hexdigest()[:32]
    if header.lower().startswith("basic "):  # an xAPI client's key:secret
        return "basic:" + hashlib.sha256(header[6:].strip().encode()).hexdigest()[:32]
    browser = read_session()
    return f"session:{browser.sub}" if browser else address_key()


def address_key() -> str:
    """The caller's address (the socket's peer: no proxy header is trusted here)."""
    return "ip:" + (request.remote_addr or "127.0.0.1")


def _category(rule: Rule) -> tuple[str, str, Callable[[], str]] | None:
    """(scope, setting, key) of the limit a route falls under, or None."""
    path, methods = rule.rule, rule.methods or set()
    if "POST" in methods and (path in INGEST_PATHS or path.startswith("/xapi/") or path.endswith("/progress/track/")):
        return "ingest", "RATE_LIMIT_INGEST", credential_key
    if path == "/api/v1/auth/token":
        return "tokens", "RATE_LIMIT_TOKENS", credential_key
    if "/analytics" in path or path.endswith((".csv", ".pdf") + EXPENSIVE_PROGRESS):
        return "reads", "RATE_LIMIT_READS", credential_key
    if path == "/login":
        return "login", "RATE_LIMIT_LOGIN", address_key
    if path == "/ws" or path.startswith("/ws/"):
        return "websocket", "RATE_LIMIT_WEBSOCKET", address_key
    return None


def register_rate_limits(app: Flask) -> None:
    """Bind a limiter to this app (one per app: its limits live on it) and wrap the limited routes."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(app.config["REDIS_URL"]))
    limits = init_limits(app, key_prefix="learnpulse:ratelimit")
    app.extensions["rate_limiter"] = limits
    if limits.storage is None:
        return
    wrapped = set()
    for rule in list(app.url_map.iter_rules()):
        found = _category(rule)
        if found is None or rule.endpoint in wrapped:  # an endpoint's first rule decides, as before
            continue
        scope, setting, key = found
        wrapped.add(rule.endpoint)
        app.view_functions[rule.endpoint] = limits.limit(
            app,
            app.view_functions[rule.endpoint],
            setting,
            scope,
            key,
            lambda setting=setting, scope=scope: (
                f"too many {scope} requests: at most {current_app.config[setting]} "
                f"({'per address' if scope in ('login', 'websocket') else 'per credential'}); see Retry-After"
            ),
        )


def register_cors(app: Flask) -> None:
    """REST calls from the browser origins in CORS_ALLOWED_ORIGINS (bearer tokens, no cookies)."""
    origins = list(app.config.get("CORS_ALLOWED_ORIGINS") or ())
    if origins:
        CORS(
            app,
            resources={r"/api/*": {"origins": origins}},
            supports_credentials=False,
            expose_headers=["Retry-After", "X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            max_age=600,
        )
