"""Browser sign-in and pages at the app level: the session cookie's flags and lifetime, open-redirect
refusal, CSRF on cookie-authenticated writes (not on bearer calls), sign-out, each role's dashboard,
the REST access rules on learner pages, and the security headers."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie

import pytest

from api.auth.session import COOKIE_NAME
from api.auth.tokens import issue_token
from models import db
from tests.conftest import SECRET, bearer
from tests.schools import NAMED_PEOPLE, build_school, two_sections


@pytest.fixture
def school(app):
    """amy and bea in S1 taught by ed; cal in S2 taught by eve; an admin and a service."""
    return build_school(NAMED_PEOPLE, two_sections("Section one", "Section two"))


def token(user, ttl: int = 600) -> str:
    return issue_token(SECRET, user.external_id, user.role, ttl)[0]


def session_cookie(response) -> SimpleCookie:
    header = next(v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith(COOKIE_NAME))
    cookie = SimpleCookie()
    cookie.load(header)
    return cookie


def sign_in(client, user, ttl: int = 600, next_path: str | None = None):
    query = {"token": token(user, ttl)}
    if next_path is not None:
        query["next"] = next_path
    return client.get("/login", query_string=query)


def csrf_of(client) -> str:
    """The CSRF token the dashboard renders into its <meta> tag."""
    html = client.get("/dashboard").get_data(as_text=True)
    marker = '<meta name="csrf-token" content="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def test_login_sets_a_session_cookie_bounded_by_the_token(client, school):
    before = time.time()
    response = sign_in(client, school["amy"], ttl=300)
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    morsel = session_cookie(response)[COOKIE_NAME]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert not morsel["secure"]  # plain HTTP here
    assert 0 < int(morsel["max-age"]) <= 300
    assert parsedate_to_datetime(morsel["expires"]).timestamp() <= before + 301
    assert "token=" not in response.headers["Location"]


def test_login_over_https_sets_a_secure_cookie(client, school):
    response = client.get("/login", query_string={"token": token(school["amy"])}, base_url="https://localhost")
    assert session_cookie(response)[COOKIE_NAME]["secure"] is True
    proxied = client.get(
        "/login", query_string={"token": token(school["amy"])}, headers={"X-Forwarded-Proto": "https"}
    )  # TLS ended at the load balancer (Heroku-style)
    assert session_cookie(proxied)[COOKIE_NAME]["secure"] is True


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/dashboard/learners/amy", "/dashboard/learners/amy"),
        ("https://evil.example/", "/dashboard"),
        ("//evil.example/x", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
        ("\\\\evil.example", "/dashboard"),
        ("javascript:alert(1)", "/dashboard"),
        ("/\tevil", "/dashboard"),
        ("dashboard", "/dashboard"),
    ],
)
def test_login_redirects_only_to_local_paths(client, school, target, expected):
    response = sign_in(client, school["amy"], next_path=target)
    assert response.status_code == 302
    assert response.headers["Location"] == expected


@pytest.mark.parametrize("case", ["garbage", "expired", "missing", "unknown user", "service"])
def test_bad_sign_in_links_get_a_friendly_page(client, school, case):
    if case == "expired":
        value = issue_token(SECRET, "amy", "learner", 1)[0]
        time.sleep(1.1)
    else:
        value = {
            "garbage": "not-a-token",
            "missing": "",
            "unknown user": issue_token(SECRET, "nobody", "learner", 600)[0],
            "service": token(school["lms"]),
        }[case]
    response = client.get("/login", query_string={"token": value})
    assert 400 <= response.status_code < 500
    assert response.mimetype == "text/html"
    assert "Set-Cookie" not in response.headers
    assert "Content-Security-Policy" in response.headers
    assert "<h1" in response.get_data(as_text=True)


def test_each_role_gets_its_dashboard(client, school):
    for name, page in (("amy", "learner"), ("ed", "educator"), ("root", "admin")):
        sign_in(client, school[name])
        response = client.get("/dashboard")
        assert response.status_code == 200, name
        html = response.get_data(as_text=True)
        assert f'data-page="{page}"' in html
        assert '<meta name="csrf-token"' in html
        assert "<script>" not in html  # no inline script: CSP allows 'self' only


def test_signed_out_visitors_are_sent_to_the_sign_in_help(client, school):
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin")
    help_page = client.get("/signin")
    assert help_page.status_code == 200
    assert "/login?token=" in help_page.get_data(as_text=True)
    assert client.get("/").headers["Location"] == "/dashboard"


def test_a_tampered_or_foreign_cookie_is_not_a_session(client, school):
    client.set_cookie(COOKIE_NAME, "forged.value")
    assert client.get("/dashboard").headers["Location"].startswith("/signin")
    assert client.get("/api/v1/me").status_code == 401
    client.set_cookie(COOKIE_NAME, token(school["amy"]))  # a bearer token is not a session cookie
    assert client.get("/api/v1/me").json["error"]["code"] == "invalid_session"


def test_learner_pages_follow_the_rest_access_rules(client, school):
    cases = [
        ("amy", "amy", 200),
        ("amy", "bea", 404),
        ("ed", "amy", 200),
        ("ed", "cal", 404),
        ("eve", "cal", 200),
        ("root", "cal", 200),
        ("root", "ed", 404),  # not a learner
        ("ed", "nobody", 404),
    ]
    for viewer, learner, status in cases:
        sign_in(client, school[viewer])
        response = client.get(f"/dashboard/learners/{learner}")
        assert response.status_code == status, (viewer, learner)
        assert response.mimetype == "text/html"
        if status == 404 and learner in school:
            assert school[learner].name not in response.get_data(as_text=True).split("<main", 1)[1]


def test_the_rest_api_accepts_the_session_cookie(client, school):
    sign_in(client, school["ed"])
    assert client.get("/api/v1/me").json["external_id"] == "ed"
    assert client.get("/api/v1/learners/amy/summary").status_code == 200
    assert client.get("/api/v1/learners/cal/summary").status_code == 404
    # bearer auth is unchanged and wins over the cookie
    assert client.get("/api/v1/me", headers=bearer(school["root"])).json["external_id"] == "root"


def test_cookie_writes_need_the_csrf_token_and_bearer_writes_do_not(client, school):
    sign_in(client, school["amy"])
    refused = client.put("/api/v1/alerts/preferences", json={"muted": True})
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "csrf_failed"
    wrong = client.put("/api/v1/alerts/preferences", json={"muted": True}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    accepted = client.put("/api/v1/alerts/preferences", json={"muted": True}, headers={"X-CSRF-Token": csrf_of(client)})
    assert accepted.status_code == 200, accepted.json
    other = client.application.test_client()
    assert (
        other.put("/api/v1/alerts/preferences", json={"muted": False}, headers=bearer(school["amy"])).status_code == 200
    )


def test_logout_needs_csrf_and_clears_the_session(client, school):
    sign_in(client, school["amy"])
    assert client.post("/logout").status_code == 403
    assert client.get("/dashboard").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_of(client)})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/signin")
    assert int(session_cookie(response)[COOKIE_NAME]["max-age"]) == 0
    assert client.get("/dashboard").status_code == 302


def test_a_deactivated_user_loses_the_session(client, school):
    sign_in(client, school["amy"])
    school["amy"].active = False
    db.session.commit()
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/dashboard").status_code == 401


def test_ws_token_is_short_lived_and_csrf_protected(client, school):
    sign_in(client, school["ed"], ttl=120)
    assert client.post("/session/ws-token").status_code == 403
    answer = client.post("/session/ws-token", headers={"X-CSRF-Token": csrf_of(client)})
    assert answer.status_code == 200
    assert 0 < answer.json["expires_in"] <= 120
    me = client.application.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {answer.json['token']}"})
    assert me.json["external_id"] == "ed"
    assert client.application.test_client().post("/session/ws-token").status_code == 401


def test_ws_token_refusals_are_json_errors_not_pages(client, school):
    """The pages blueprint renders errors as HTML; this JSON endpoint must still answer in the API's shape."""
    sign_in(client, school["ed"])
    refused_csrf = client.post("/session/ws-token")
    no_session = client.application.test_client().post("/session/ws-token")
    csrf = csrf_of(client)
    school["ed"].active = False
    db.session.commit()
    deactivated = client.post("/session/ws-token", headers={"X-CSRF-Token": csrf})
    for answer, status, code in [
        (refused_csrf, 403, "csrf_failed"),
        (no_session, 401, "invalid_session"),
        (deactivated, 401, None),
    ]:
        assert answer.status_code == status and answer.mimetype == "application/json", answer.data[:80]
        assert set(answer.json["error"]) == {"status", "code", "message", "details"}
        assert answer.json["error"]["status"] == status and code in (None, answer.json["error"]["code"])


def test_pages_carry_the_security_headers(client, school):
    sign_in(client, school["ed"])
    for path in ("/dashboard", "/dashboard/learners/amy", "/dashboard/learners/cal", "/signin", "/login"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp, path
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] in ("no-referrer", "same-origin")


def test_flower_link_only_when_configured(make_app, school):
    from flask import Flask

    def admin_page(app: Flask) -> str:
        client = app.test_client()
        with app.app_context():
            client.get("/login", query_string={"token": issue_token(SECRET, "root", "admin", 600)[0]})
            return client.get("/dashboard").get_data(as_text=True)

    assert "Flower" not in admin_page(make_app())
    assert 'href="https://flower.example/"' in admin_page(make_app(FLOWER_URL="https://flower.example/"))


def test_pages_name_a_live_socket_tier_only_when_configured(make_app, school):
    """LIVE_SOCKET_URL moves the pages' live socket to another web process: the page names it and its CSP
    lets the page connect there (and nowhere else new)."""

    def educator_page(app) -> tuple[str, str]:
        client = app.test_client()
        with app.app_context():
            client.get("/login", query_string={"token": token(school["ed"])})
            response = client.get("/dashboard")
            return response.get_data(as_text=True), response.headers["Content-Security-Policy"]

    html, csp = educator_page(make_app())
    assert "live-socket-url" not in html and "live.example" not in csp
    html, csp = educator_page(make_app(LIVE_SOCKET_URL="https://live.example:8443"))
    assert '<meta name="live-socket-url" content="https://live.example:8443">' in html
    assert "connect-src 'self' ws://localhost wss://localhost wss://live.example:8443;" in csp


def test_admin_page_shows_the_periodic_jobs(client, school):
    from services.job_runs import recorded_run

    with recorded_run("velocity", "cli", learners=3):
        pass
    sign_in(client, school["root"])
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'id="periodic-jobs"' in html and 'data-job="performance"' in html and 'data-job="evaluation"' in html
    assert "never run" in html and " by cli" in html


def test_pages_still_render_when_redis_is_down(make_app, school):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    client = app.test_client()
    with app.app_context():
        client.get("/login", query_string={"token": token(school["root"])})
        response = client.get("/dashboard")
    assert response.status_code == 200
    assert "last runs are unknown" in response.get_data(as_text=True)
