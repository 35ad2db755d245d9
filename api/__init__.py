"""LearnPulse web application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from api.auth.guard import init_token_cache
from api.config import DEFAULTS, ConfigError, load_settings
from api.events.group_commit import init_ingest_groups
from api.extensions import db, migrate, sock
from api.lazy_session import LazySessionInterface
from api.rate_limits import register_cors, register_rate_limits
from api.read_commit import register_read_commit
from api.realtime.background import background_thread
from api.realtime.protocol import MAX_CLIENT_MESSAGE
from api.request_log import register_request_log
from api.url_args import register_url_guards
from models.pool_ping import ping_when_idle
from services.clients import init_clients
from services.log_setup import configure_logging

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = str(ROOT / "migrations")


def instance_path() -> Path:
    """Where the embedded database, secret key and Redis state live (INSTANCE_PATH overrides)."""
    return Path(os.environ.get("INSTANCE_PATH") or ROOT / "instance").resolve()


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, Celery, blueprints, error handlers, commands."""
    app = Flask(__name__, instance_path=str(instance_path()))
    app.config.from_mapping(
        load_settings(Path(app.instance_path)) if test_config is None else {**DEFAULTS, **test_config}
    )
    if not app.config.get("REDIS_URL"):
        raise ConfigError("REDIS_URL is not set: start processes through wsgi.py or worker.main (api.entrypoint)")
    app.json.sort_keys = False
    app.session_interface = LazySessionInterface()
    register_extensions(app)
    init_clients(app)
    init_token_cache(app)
    init_ingest_groups(app)
    register_url_guards(app)
    register_blueprints(app)
    register_commands(app)
    register_request_log(app)
    register_rate_limits(app)
    register_cors(app)
    configure_logging(app.config.get("LOG_LEVEL"), app.config.get("LOG_FORMAT"))
    return app


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions; SQLite gets WAL and a busy timeout so web and worker can both write."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    else:
        # Pages of 100 rows repeat the same multi-row statement, so psycopg's query cache hits;
        # larger pages make it re-parse a huge statement every time.
        # A pooled connection is checked before use once it has sat idle (models/pool_ping.py), not on
        # every checkout as pool_pre_ping would (unless the options ask for that).
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"insertmanyvalues_page_size": 100})
    db.init_app(app)
    if not uri.startswith("sqlite"):
        register_read_commit(app)  # after db.init_app: runs just before the session's removal
    if not uri.startswith("sqlite") and not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping"):
        with app.app_context():
            ping_when_idle(db.engine)
    app.config.setdefault(
        "SOCK_SERVER_OPTIONS",
        {
            "ping_interval": app.config["WS_PING_INTERVAL"] or None,
            "max_message_size": MAX_CLIENT_MESSAGE,
            "thread_class": background_thread,  # each socket's reader: a bare greenlet under gevent
        },
    )
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True)
    sock.init_app(app)
    if uri.startswith("sqlite"):
        from api.sqlite_pragmas import enable_wal  # noqa: PLC0415

        with app.app_context():
            enable_wal(db.engine)


def register_blueprints(app: Flask) -> None:
    """One blueprint per concern; errors leave as JSON in one shape."""
    from api.achievements import bp as achievements_bp
    from api.admin_tokens import bp as admin_tokens_bp
    from api.alerts import bp as alerts_bp
    from api.analytics import bp as analytics_bp
    from api.audit import bp as audit_bp
    from api.auth import bp as auth_bp
    from api.docs import bp as docs_bp
    from api.entities import bp as entities_bp
    from api.errors import register_error_handlers
    from api.events import bp as events_bp
    from api.exports import bp as exports_bp
    from api.health import bp as health_bp
    from api.learners import bp as learners_bp
    from api.pages import bp as pages_bp
    from api.progress import register_progress
    from api.realtime import bp as realtime_bp
    from api.school import bp as school_bp
    from api.webhooks import bp as webhooks_bp
    from api.xapi import bp as xapi_bp

    for blueprint in (
        auth_bp,
        entities_bp,
        events_bp,
        learners_bp,
        school_bp,
        analytics_bp,
        alerts_bp,
        audit_bp,
        admin_tokens_bp,
        webhooks_bp,
        achievements_bp,
    ):
        app.register_blueprint(blueprint, url_prefix="/api/v1")
    app.register_blueprint(exports_bp, url_prefix="/api/v1")
    app.register_blueprint(health_bp)
    app.register_blueprint(realtime_bp)
    app.register_blueprint(docs_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(xapi_bp, url_prefix="/xapi")
    register_progress(app)
    register_error_handlers(app)


def register_commands(app: Flask) -> None:
    """`flask users`, `flask tokens`, `flask demo`, `flask models`, `flask monitoring`, `flask analytics`,
    `flask notifications`, `flask xapi`, `flask achievements`."""
    from api.achievements.cli import achievements_cli
    from api.cli import demo_cli, models_cli, monitoring_cli, tokens_cli, users_cli
    from api.cli_jobs import analytics_cli
    from api.notification_cli import notifications_cli
    from api.xapi.cli import xapi_cli

    groups = (
        users_cli,
        tokens_cli,
        demo_cli,
        models_cli,
        monitoring_cli,
        analytics_cli,
        notifications_cli,
        xapi_cli,
        achievements_cli,
    )
    for group in groups:
        app.cli.add_command(group)
