"""Settings of notifications out (email and webhooks), merged into api.config's defaults and environment."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

from services.notifications.addresses import parse_networks
from services.notifications.email import SmtpUrlError, smtp_settings, tls_context

NOTIFICATION_DEFAULTS: dict[str, Any] = {
    "SMTP_URL": "",  # smtp://user:pass@host:port (?starttls=true) or smtps://...; empty: no email
    "MAIL_FROM": "LearnPulse <learnpulse@localhost>",  # the From of every email
    "SMTP_CA_FILE": "",  # PEM file of the only CAs SMTP TLS trusts (private CA, self-signed server); empty: the system's
    "SMTP_TIMEOUT": 10.0,  # seconds per SMTP operation
    "WEBHOOK_TIMEOUT": 5.0,  # seconds a receiver has to connect and answer one delivery
    "WEBHOOK_MAX_ATTEMPTS": 8,  # attempts of one delivery before it is marked failed
    "WEBHOOK_RETRY_BASE_SECONDS": 30.0,  # first retry after this; each next one waits twice as long (max 6 h)
    "WEBHOOK_DISABLE_AFTER": 20,  # consecutive failed attempts (any deliveries) that disable an endpoint
    "WEBHOOK_LOG_DAYS": 30,  # finished deliveries older than this are deleted weekly
    "WEBHOOK_ALLOW_PRIVATE": False,  # true: webhooks may reach loopback, private, link-local... (development, tests)
    "WEBHOOK_ALLOWED_NETWORKS": "",  # comma-separated CIDR networks webhooks may reach although not public
}
_NUMBERS = {
    "SMTP_TIMEOUT": float,
    "WEBHOOK_TIMEOUT": float,
    "WEBHOOK_MAX_ATTEMPTS": int,
    "WEBHOOK_RETRY_BASE_SECONDS": float,
    "WEBHOOK_DISABLE_AFTER": int,
    "WEBHOOK_LOG_DAYS": int,
}


def _webhook_addresses(env: Mapping[str, str]) -> dict[str, Any]:
    """Which non-public addresses webhooks may reach (services/notifications/addresses.py); a bad network
    stops the process at start."""
    from api.config import ConfigError, _env_bool  # api.config imports this module

    networks = env.get("WEBHOOK_ALLOWED_NETWORKS", "").strip()
    try:
        parse_networks(networks)
    except ValueError as exc:
        raise ConfigError(f"WEBHOOK_ALLOWED_NETWORKS must list CIDR networks such as 10.0.0.0/8: {exc}") from exc
    allow = _env_bool(env, "WEBHOOK_ALLOW_PRIVATE", False)
    return {"WEBHOOK_ALLOW_PRIVATE": allow, "WEBHOOK_ALLOWED_NETWORKS": networks}


def notification_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Read and check the notification settings; a bad SMTP_URL or number stops the process at start."""
    from api.config import ConfigError  # api.config imports this module

    out: dict[str, Any] = {
        "SMTP_URL": env.get("SMTP_URL", "").strip(),
        "MAIL_FROM": env.get("MAIL_FROM", "").strip() or NOTIFICATION_DEFAULTS["MAIL_FROM"],
    }
    if out["SMTP_URL"]:
        try:
            smtp_settings(out["SMTP_URL"])
        except SmtpUrlError as exc:
            raise ConfigError(str(exc)) from exc
    out["SMTP_CA_FILE"] = env.get("SMTP_CA_FILE", "").strip()
    if out["SMTP_CA_FILE"]:
        try:
            tls_context(out["SMTP_CA_FILE"])
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"SMTP_CA_FILE {out['SMTP_CA_FILE']!r} is not a readable PEM file of CA certificates: {exc}"
            ) from exc
    out.update(_webhook_addresses(env))
    for name, kind in _NUMBERS.items():
        raw = env.get(name, "")
        try:
            out[name] = kind(raw) if raw else NOTIFICATION_DEFAULTS[name]
        except ValueError as exc:
            raise ConfigError(f"{name} must be a {kind.__name__}, not {raw!r}") from exc
        if out[name] <= 0:
            raise ConfigError(f"{name} must be positive")
    return out
