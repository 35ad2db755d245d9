"""Settings from the environment: embedded default (no settings) or 12-factor production."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv
from limits import parse_many

from analytics.cohort import DEFAULT_BAND_EDGES
from api.notification_config import NOTIFICATION_DEFAULTS, notification_settings


class ConfigError(RuntimeError):
    """A required setting is missing or malformed; the process must not start."""


def normalize_database_url(url: str) -> str:
    """Accept the `postgres://` scheme that hosting platforms hand out and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _embedded_secret_key(instance_path: Path) -> str:
    """Persist one random key per checkout so CLI-issued tokens work against the running service."""
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


MIN_SECRET_LENGTH = 32
DEFAULTS: dict[str, Any] = {
    "AUTO_CREATE_LEARNERS": True,  # an event for an unknown learner creates them, as xAPI stores do
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,  # bytes; a full 5,000-event batch is about 1.5 MB
    "MAX_CLOCK_SKEW_SECONDS": 300,  # events further in the future than this are refused
    "SERVICE_TOKEN_MAX_TTL": 3600,  # seconds; the longest token POST /auth/token may mint
    "WORKER_PING_TIMEOUT": 1.0,  # seconds /health waits for Celery workers to answer
    "ALERT_RETENTION_DAYS": 90,  # resolved alerts older than this are deleted weekly (acknowledged ones stay)
    "MONITORING_SHARD_SIZE": 5000,  # learners per sweep shard task
    "MONITORING_DIGESTS": True,  # sweeps read per-learner digests (services.digests); false: the whole event log
    "COHORT_SUMMARY_INTERVAL": 600,  # seconds; a section's dashboard summary is recomputed at most this often
    # seconds a drain may hold learners it claimed before another drain re-queues them (its worker
    # died); longer than one batch's evaluation, or a slow batch is evaluated twice (harmless)
    "EVALUATION_LEASE_SECONDS": 300,
    "ALERT_TIME_ZONE": "UTC",  # IANA zone whose whole days the day-based alert rules count
    "SESSION_GAP_MINUTES": 30,  # a pause longer than this ends a learning session (?gap_minutes= overrides)
    # Lower edges (percent) of the grade bands A+, A, B+, B, C+, C, D+, D; below the last is F.
    "GRADE_BAND_EDGES": DEFAULT_BAND_EDGES,
    # Browser origins allowed to open WebSockets; empty: the API's own host only; "*": any.
    "WS_ALLOWED_ORIGINS": (),
    # Origin of the web process the pages open their live socket on (a dashboards tier); empty: their own.
    "LIVE_SOCKET_URL": "",
    "WS_PING_INTERVAL": 25,  # seconds between server pings; a client silent for two intervals is closed
    "WS_AUTH_TIMEOUT": 10,  # seconds a client has to send its auth message
    "WS_QUEUE_SIZE": 256,  # messages waiting for one client before it is dropped as too slow
    # Verified bearer tokens remembered per web process (api/auth/token_cache.py); 0 turns it off.
    # Access changes made through the API or CLI apply at once; one made directly in the database
    # within AUTH_CACHE_SECONDS.
    "AUTH_CACHE_SIZE": 4096,
    "AUTH_CACHE_SECONDS": 5,
    # Single events arriving together in one web process are stored in one transaction, at most this
    # many (api/events/group_commit.py); 1 stores each on its own.
    "INGEST_GROUP_LIMIT": 64,
    # Rate limits (the `limits` package's syntax, counted in Redis so they hold across web processes). Sized well
    # above what one web process serves (~800 requests/s), so they stop runaway clients, not real traffic.
    "RATE_LIMITS_ENABLED": True,
    "RATE_LIMIT_INGEST": "2000 per second",  # per credential: events, attendance, grades
    "RATE_LIMIT_TOKENS": "600 per minute",  # per credential: POST /auth/token
    "RATE_LIMIT_READS": "300 per minute",  # per user: analytics and exports (they compute or stream a lot)
    "RATE_LIMIT_LOGIN": "30 per minute",  # per IP address: /login
    "RATE_LIMIT_WEBSOCKET": "120 per minute",  # per IP address: WebSocket connection attempts
    # Browser origins allowed to call the REST API from another site (CORS); empty: none.
    "CORS_ALLOWED_ORIGINS": (),
    "FLOWER_URL": "",  # where admins find Flower (the Celery monitor); the admin page links it when set
    **NOTIFICATION_DEFAULTS,  # SMTP_URL, MAIL_FROM, WEBHOOK_*: api/notification_config.py
    "XAPI_MAPPING_FILE": "",  # a JSON file overriding keys of the xAPI mapping table (services/xapi/mapping_table.py)
}
RATE_LIMIT_SETTINGS = (
    "RATE_LIMIT_INGEST",
    "RATE_LIMIT_TOKENS",
    "RATE_LIMIT_READS",
    "RATE_LIMIT_LOGIN",
    "RATE_LIMIT_WEBSOCKET",
)


def _band_edges(env: Mapping[str, str]) -> tuple[float, ...]:
    raw = env.get("GRADE_BAND_EDGES")
    if not raw:
        return DEFAULTS["GRADE_BAND_EDGES"]
    try:
        edges = tuple(float(part) for part in raw.split(","))
    except ValueError as exc:
        raise ConfigError(f"GRADE_BAND_EDGES must be comma-separated numbers, not {raw!r}") from exc
    if len(edges) != 8 or list(edges) != sorted(edges, reverse=True):
        raise ConfigError("GRADE_BAND_EDGES needs 8 descending numbers: the lower edges of A+, A, B+, B, C+, C, D+, D")
    return edges


def _int(env: Mapping[str, str], name: str) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return int(DEFAULTS[name])
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc


def _time_zone(env: Mapping[str, str]) -> str:
    """ALERT_TIME_ZONE: an IANA zone name such as Europe/Paris (default UTC)."""
    name = env.get("ALERT_TIME_ZONE") or DEFAULTS["ALERT_TIME_ZONE"]
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"ALERT_TIME_ZONE must be an IANA time zone such as Europe/Paris, not {name!r}") from exc
    return name


def _origins(env: Mapping[str, str], name: str = "WS_ALLOWED_ORIGINS") -> tuple[str, ...]:
    """An origin allow-list: "*" or origins as browsers send them (scheme://host[:port])."""
    origins = tuple(o.strip().rstrip("/") for o in env.get(name, "").split(",") if o.strip())
    bad = [o for o in origins if o != "*" and "://" not in o]
    if bad:
        raise ConfigError(f"{name} entries must look like https://host[:port] (or be *), not {', '.join(bad)}")
    return origins


def _live_socket_url(env: Mapping[str, str]) -> str:
    """LIVE_SOCKET_URL: the origin of the web process the pages open their live socket on (a dashboards
    tier, see README "Scaling out"); empty: the page's own origin."""
    value = env.get("LIVE_SOCKET_URL", "").strip().rstrip("/")
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc or parts.path or parts.query:
        raise ConfigError(f"LIVE_SOCKET_URL must look like wss://host[:port] (an origin, no path), not {value!r}")
    return value


def _rate_limits(env: Mapping[str, str]) -> dict[str, Any]:
    """The rate-limit settings, each checked to parse (e.g. "100 per minute; 10 per second")."""
    out: dict[str, Any] = {"RATE_LIMITS_ENABLED": _env_bool(env, "RATE_LIMITS_ENABLED", True)}
    for name in RATE_LIMIT_SETTINGS:
        value = env.get(name) or DEFAULTS[name]
        try:
            parse_many(value)
        except ValueError as exc:
            raise ConfigError(f"{name} must look like '100 per minute', not {value!r}") from exc
        out[name] = value
    return out


def settings_from_env(env: Mapping[str, str], instance_path: Path) -> dict[str, Any]:
    """Build the Flask config mapping; embedded mode is chosen when DATABASE_URL is unset."""
    database_url = env.get("DATABASE_URL", "")
    embedded = database_url == ""
    settings: dict[str, Any] = {**DEFAULTS, "EMBEDDED": embedded, **_tunables(env)}
    if embedded:
        settings.update(_embedded_services(env, instance_path))
    else:
        settings.update(_production_services(env, database_url))
    return settings


def _tunables(env: Mapping[str, str]) -> dict[str, Any]:
    """Every setting with a default, each parsed and checked (the same in both modes)."""
    return {
        "AUTO_CREATE_LEARNERS": _env_bool(env, "AUTO_CREATE_LEARNERS", True),
        "MAX_CONTENT_LENGTH": _int(env, "MAX_CONTENT_LENGTH"),
        "MAX_CLOCK_SKEW_SECONDS": _int(env, "MAX_CLOCK_SKEW_SECONDS"),
        "SERVICE_TOKEN_MAX_TTL": _int(env, "SERVICE_TOKEN_MAX_TTL"),
        "WORKER_PING_TIMEOUT": float(env.get("WORKER_PING_TIMEOUT") or DEFAULTS["WORKER_PING_TIMEOUT"]),
        "ALERT_RETENTION_DAYS": _int(env, "ALERT_RETENTION_DAYS"),
        "MONITORING_SHARD_SIZE": _int(env, "MONITORING_SHARD_SIZE"),
        "MONITORING_DIGESTS": _env_bool(env, "MONITORING_DIGESTS", True),
        "COHORT_SUMMARY_INTERVAL": _int(env, "COHORT_SUMMARY_INTERVAL"),
        "EVALUATION_LEASE_SECONDS": _int(env, "EVALUATION_LEASE_SECONDS"),
        "ALERT_TIME_ZONE": _time_zone(env),
        "SESSION_GAP_MINUTES": _int(env, "SESSION_GAP_MINUTES"),
        "GRADE_BAND_EDGES": _band_edges(env),
        "WS_ALLOWED_ORIGINS": _origins(env),
        "LIVE_SOCKET_URL": _live_socket_url(env),
        "WS_PING_INTERVAL": _int(env, "WS_PING_INTERVAL"),
        "WS_AUTH_TIMEOUT": _int(env, "WS_AUTH_TIMEOUT"),
        "WS_QUEUE_SIZE": _int(env, "WS_QUEUE_SIZE"),
        "AUTH_CACHE_SIZE": _int(env, "AUTH_CACHE_SIZE"),
        "AUTH_CACHE_SECONDS": _int(env, "AUTH_CACHE_SECONDS"),
        "INGEST_GROUP_LIMIT": _int(env, "INGEST_GROUP_LIMIT"),
        "CORS_ALLOWED_ORIGINS": _origins(env, "CORS_ALLOWED_ORIGINS"),
        **_rate_limits(env),
        "FLOWER_URL": env.get("FLOWER_URL", "").strip(),
        **notification_settings(env),
        "XAPI_MAPPING_FILE": env.get("XAPI_MAPPING_FILE", "").strip(),
    }


def _embedded_services(env: Mapping[str, str], instance_path: Path) -> dict[str, Any]:
    """A SQLite file in the instance folder, a generated secret, the embedded Redis started lazily."""
    db_file = instance_path / "learnpulse.db"
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}",
        "SECRET_KEY": env.get("SECRET_KEY") or _embedded_secret_key(instance_path),
        "REDIS_URL": env.get("REDIS_URL", ""),  # empty: start the embedded server lazily
    }


def _production_services(env: Mapping[str, str], database_url: str) -> dict[str, Any]:
    """DATABASE_URL set: SECRET_KEY (long enough) and REDIS_URL are required, nothing falls back."""
    database_uri = normalize_database_url(database_url)
    missing = [name for name in ("SECRET_KEY", "REDIS_URL") if not env.get(name)]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)} must be set when DATABASE_URL is set (production mode); "
            "unset DATABASE_URL to run the embedded default instead"
        )
    if len(env["SECRET_KEY"]) < MIN_SECRET_LENGTH:
        raise ConfigError(f"SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters (it signs every token)")
    return {
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "SECRET_KEY": env["SECRET_KEY"],
        "REDIS_URL": env["REDIS_URL"],
        "CELERY_BROKER_URL": env.get("CELERY_BROKER_URL") or env["REDIS_URL"],
    }


def apply_dotenv(dotenv_path: Path) -> None:
    """Complete os.environ from a `.env` file when one exists; the environment wins, so a platform's
    settings are never overridden by a stray file."""
    if dotenv_path.is_file():
        load_dotenv(dotenv_path, override=False)


def load_settings(instance_path: Path) -> dict[str, Any]:
    """Settings for this process, read from os.environ (entry points apply `.env` first)."""
    return settings_from_env(os.environ, instance_path)
