"""Settings: embedded defaults, production requirements, URL normalisation."""

from pathlib import Path

import pytest

from api.config import ConfigError, normalize_database_url, settings_from_env

LONG = "k" * 40


def test_postgres_scheme_from_hosting_platforms_is_accepted():
    assert normalize_database_url("postgres://u:p@h:5432/d") == "postgresql+psycopg://u:p@h:5432/d"
    assert normalize_database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_embedded_mode_needs_no_settings(tmp_path: Path):
    settings = settings_from_env({}, tmp_path)
    assert settings["EMBEDDED"] is True
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'learnpulse.db'}"
    assert len(settings["SECRET_KEY"]) >= 32
    assert settings_from_env({}, tmp_path)["SECRET_KEY"] == settings["SECRET_KEY"]  # stable across processes


@pytest.mark.parametrize("missing", ["SECRET_KEY", "REDIS_URL"])
def test_production_refuses_to_start_without_secret_or_redis(tmp_path: Path, missing: str):
    env = {"DATABASE_URL": "postgres://h/d", "SECRET_KEY": LONG, "REDIS_URL": "redis://h"}
    del env[missing]
    with pytest.raises(ConfigError, match=missing):
        settings_from_env(env, tmp_path)


def test_production_settings(tmp_path: Path):
    settings = settings_from_env(
        {
            "DATABASE_URL": "postgres://h/d",
            "SECRET_KEY": LONG,
            "REDIS_URL": "redis://h:1/2",
            "AUTO_CREATE_LEARNERS": "false",
        },
        tmp_path,
    )
    assert settings["EMBEDDED"] is False
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert settings["AUTO_CREATE_LEARNERS"] is False
    assert not (tmp_path / "secret_key").exists()


def test_malformed_settings_are_named(tmp_path: Path):
    with pytest.raises(ConfigError, match="AUTO_CREATE_LEARNERS"):
        settings_from_env({"AUTO_CREATE_LEARNERS": "maybe"}, tmp_path)
    with pytest.raises(ConfigError, match="MAX_CONTENT_LENGTH"):
        settings_from_env({"MAX_CONTENT_LENGTH": "lots"}, tmp_path)


def test_short_secret_key_is_refused(tmp_path: Path):
    with pytest.raises(ConfigError, match="at least 32"):
        settings_from_env({"DATABASE_URL": "postgres://h/d", "SECRET_KEY": "short", "REDIS_URL": "redis://h"}, tmp_path)


def test_grade_band_edges_are_configurable_and_checked(tmp_path: Path):
    assert settings_from_env({"GRADE_BAND_EDGES": "95,85,80,75,70,65,60,55"}, tmp_path)["GRADE_BAND_EDGES"][0] == 95.0
    for bad in ("90,80", "50,60,65,70,75,80,85,90", "a,b,c,d,e,f,g,h"):
        with pytest.raises(ConfigError, match="GRADE_BAND_EDGES"):
            settings_from_env({"GRADE_BAND_EDGES": bad}, tmp_path)


def test_websocket_origins_must_be_origins(tmp_path: Path):
    settings = settings_from_env({"WS_ALLOWED_ORIGINS": "https://lms.example/, http://localhost:3000"}, tmp_path)
    assert settings["WS_ALLOWED_ORIGINS"] == ("https://lms.example", "http://localhost:3000")
    with pytest.raises(ConfigError, match="lms.example"):
        settings_from_env({"WS_ALLOWED_ORIGINS": "lms.example"}, tmp_path)


def test_the_live_socket_url_is_an_origin(tmp_path: Path):
    assert settings_from_env({}, tmp_path)["LIVE_SOCKET_URL"] == ""
    settings = settings_from_env({"LIVE_SOCKET_URL": "wss://live.school.example:8443/"}, tmp_path)
    assert settings["LIVE_SOCKET_URL"] == "wss://live.school.example:8443"
    for bad in ("live.school.example", "ftp://live.example", "https://live.example/ws", "https://"):
        with pytest.raises(ConfigError, match="LIVE_SOCKET_URL"):
            settings_from_env({"LIVE_SOCKET_URL": bad}, tmp_path)


def test_alert_time_zone_is_an_iana_zone(tmp_path: Path):
    assert settings_from_env({}, tmp_path)["ALERT_TIME_ZONE"] == "UTC"
    assert settings_from_env({"ALERT_TIME_ZONE": "Europe/Paris"}, tmp_path)["ALERT_TIME_ZONE"] == "Europe/Paris"
    with pytest.raises(ConfigError, match="ALERT_TIME_ZONE"):
        settings_from_env({"ALERT_TIME_ZONE": "Mars/Olympus"}, tmp_path)


def test_a_dotenv_file_completes_the_environment_but_never_overrides_it(tmp_path: Path, monkeypatch):
    from api.config import apply_dotenv, load_settings

    dotenv = tmp_path / ".env"
    dotenv.write_text("ALERT_RETENTION_DAYS=30\nWS_QUEUE_SIZE=64\n")
    monkeypatch.delenv("ALERT_RETENTION_DAYS", raising=False)
    monkeypatch.setenv("WS_QUEUE_SIZE", "128")
    for name in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    apply_dotenv(dotenv)
    settings = load_settings(tmp_path)
    assert settings["ALERT_RETENTION_DAYS"] == 30 and settings["WS_QUEUE_SIZE"] == 128


def test_requests_are_logged_once_with_an_id_that_is_echoed(client, caplog):
    caplog.set_level("INFO", logger="learnpulse.request")
    response = client.get("/health", headers={"X-Request-ID": "lms-abc.123"})
    assert response.headers["X-Request-ID"] == "lms-abc.123"
    lines = [r for r in caplog.records if r.name == "learnpulse.request"]
    assert len(lines) == 1 and lines[0].status == response.status_code and lines[0].path == "/health"
    unsafe = client.get("/health", headers={"X-Request-ID": "bad id <script>"})
    assert unsafe.headers["X-Request-ID"] != "bad id <script>" and len(unsafe.headers["X-Request-ID"]) == 16


def test_json_log_lines_carry_the_request_id():
    import json
    import logging

    from services.log_setup import JsonLineFormatter, request_id

    token = request_id.set("r-1")
    try:
        record = logging.LogRecord("learnpulse.request", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
        record.request_id = request_id.get()
        record.status = 200
        line = json.loads(JsonLineFormatter().format(record))
    finally:
        request_id.reset(token)
    assert line["request_id"] == "r-1" and line["message"] == "GET /x" and line["status"] == 200
