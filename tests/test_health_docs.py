"""/health, the OpenAPI document (it must match the real routes) and the docs page."""

from __future__ import annotations

import re

from flask import Flask

from api.pages.routes import HTML_PAGES
from tests.processes import HEALTH_DB, sibling_database


def test_health_reports_each_dependency(make_app, redis_url):
    """With a broker no worker listens on (the +3 database: resilience and realtime tests use +1 and +2),
    /health says degraded even while another test module's live worker is running."""
    client = make_app(CELERY_BROKER_URL=sibling_database(redis_url, HEALTH_DB)).test_client()
    response = client.get("/health")
    assert response.status_code == 200
    checks = response.json["checks"]
    assert checks["database"]["ok"] and checks["redis"]["ok"]
    assert checks["worker"]["ok"] is False and response.json["status"] == "degraded"  # no worker in app tests


def test_health_is_503_when_redis_is_down(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.json["checks"]["redis"]["ok"] is False and response.json["status"] == "unavailable"


def _flask_routes(app: Flask) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule == "/docs" or rule.endpoint in HTML_PAGES:
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        routes |= {(method.lower(), path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_openapi_matches_the_real_routes(app, client):
    spec = client.get("/api/v1/openapi.json").json
    documented = {(method, path) for path, item in spec["paths"].items() for method in item}
    assert documented == _flask_routes(app)
    assert spec["openapi"].startswith("3.")


def test_openapi_event_schema_is_the_validator_contract(client):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    assessment = schemas["Event_assessment"]
    assert assessment["additionalProperties"] is False
    assert set(assessment["required"]) == {"learner", "kind", "occurred_at", "score", "max_score"}
    for field in (
        "id",
        "learner",
        "kind",
        "occurred_at",
        "course",
        "module",
        "section",
        "subject",
        "skill",
        "score",
        "max_score",
        "duration_seconds",
    ):
        assert field in assessment["properties"]
    assert set(schemas["Event_grade"]["properties"]) >= {"exam", "marks"}
    assert set(schemas["Event_attendance"]["properties"]) >= {"date", "status"}


def test_docs_page_lists_every_endpoint(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for path in client.get("/api/v1/openapi.json").json["paths"]:
        assert f"<code>{path}</code>" in html


def test_every_success_response_body_is_described():
    """Clients and the fuzzer can check every answer: each 2xx with a body names its schema or media type."""
    from api.openapi import build_spec  # noqa: PLC0415

    undescribed = [
        f"{method.upper()} {path} {code}"
        for path, item in build_spec()["paths"].items()
        if not path.startswith("/ws")
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
        for code, response in op["responses"].items()
        if code.startswith("2") and code != "204" and "content" not in response and "$ref" not in response
    ]
    assert undescribed == []


def test_downloads_document_their_own_media_type():
    """Each CSV and PDF answer names its type (the download paths share one response table)."""
    from api.openapi import build_spec  # noqa: PLC0415

    paths = build_spec()["paths"]
    media = {
        path: list(item["get"]["responses"]["200"]["content"])
        for path, item in paths.items()
        if path.endswith((".csv", ".pdf"))
    }
    assert media and all(
        types == ["application/pdf" if path.endswith(".pdf") else "text/csv"] for path, types in media.items()
    ), media
