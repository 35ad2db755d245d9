"""Bearer tokens: what is accepted, what is refused, and who may mint them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from api.auth.token_cache import TokenCache
from api.auth.tokens import ALGORITHM, ISSUER, decode_token, issue_token
from api.embedded_redis import free_port
from models import db
from tests.conftest import SECRET, bearer, create_user


def signed(claims: dict, key: str = SECRET, algorithm: str = ALGORITHM) -> dict[str, str]:
    return {"Authorization": "Bearer " + jwt.encode(claims, key, algorithm=algorithm)}


def claims_for(sub: str = "amy", role: str = "learner", **changes) -> dict:
    now = datetime.now(UTC)
    return {"sub": sub, "role": role, "iat": now, "exp": now + timedelta(minutes=5), "iss": ISSUER, **changes}


def test_token_round_trip():
    token, expires_at = issue_token(SECRET, "amy", "learner", 60)
    claims = decode_token(SECRET, token)
    assert (claims["sub"], claims["role"]) == ("amy", "learner")
    assert expires_at > datetime.now(UTC)


def test_valid_token_is_accepted(client):
    amy = create_user("amy", "learner", "Amy")
    response = client.get("/api/v1/me", headers=bearer(amy))
    assert response.status_code == 200
    assert response.json["external_id"] == "amy" and response.json["role"] == "learner"


@pytest.mark.parametrize(
    "headers, code",
    [
        ({}, "missing_token"),
        ({"Authorization": "Token abc"}, "missing_token"),
        ({"Authorization": "Bearer "}, "missing_token"),
        ({"Authorization": "Bearer not.a.jwt"}, "invalid_token"),
    ],
)
def test_missing_or_malformed_token_is_401(client, headers, code):
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == code
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "headers",
    [
        signed(claims_for(exp=datetime.now(UTC) - timedelta(seconds=1))),  # expired
        signed(claims_for(), key="another-secret-key-of-a-decent-length"),  # wrong key
        signed(claims_for(), algorithm="HS512"),  # algorithm not pinned
        signed({k: v for k, v in claims_for().items() if k != "exp"}),  # no expiry
        signed(claims_for(iss="someone-else")),  # wrong issuer
        signed(claims_for(role="admin")),  # role not the user's
        signed(claims_for(sub="ghost")),  # unknown user
        {"Authorization": "Bearer " + jwt.encode(claims_for(), None, algorithm="none")},  # unsigned
    ],
)
def test_forged_or_stale_tokens_are_401(client, headers):
    create_user("amy", "learner")
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_deactivated_user_loses_access(client):
    amy = create_user("amy", "learner")
    headers = bearer(amy)
    amy.active = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_service_mints_short_lived_tokens_for_learners_and_educators(client, service):
    create_user("amy", "learner")
    create_user("ted", "educator")
    for user in ("amy", "ted"):
        response = client.post("/api/v1/auth/token", json={"user": user, "ttl": 120}, headers=service)
        assert response.status_code == 201
        assert response.json["expires_in"] == 120
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {response.json['token']}"})
        assert me.json["external_id"] == user


def test_service_cannot_mint_admin_or_service_tokens(client, service):
    create_user("boss", "admin")
    create_user("other-lms", "service")
    for user in ("boss", "other-lms"):
        assert client.post("/api/v1/auth/token", json={"user": user}, headers=service).status_code == 403


def test_mint_token_refusals(client, service):
    create_user("amy", "learner")
    assert client.post("/api/v1/auth/token", json={"user": "nobody"}, headers=service).status_code == 404
    too_long = client.post("/api/v1/auth/token", json={"user": "amy", "ttl": 10**7}, headers=service)
    assert too_long.status_code == 422 and too_long.json["error"]["details"][0]["path"] == "ttl"
    extra = client.post("/api/v1/auth/token", json={"user": "amy", "role": "admin"}, headers=service)
    assert extra.status_code == 422 and extra.json["error"]["details"][0] == {"path": "role", "reason": "unknown field"}


@pytest.mark.parametrize("role", ["learner", "educator"])
def test_people_cannot_mint_tokens(client, role):
    user = create_user("someone", role)
    create_user("amy", "learner")
    assert client.post("/api/v1/auth/token", json={"user": "amy"}, headers=bearer(user)).status_code == 403


def test_a_remembered_token_is_refused_at_once_after_a_revocation_in_another_process(make_app):
    """Two apps stand for two web processes sharing Redis: B revokes, A's next request is refused."""
    web_a, web_b = make_app(), make_app()
    with web_a.app_context():
        lms = bearer(create_user("lms", "service"))
        root = bearer(create_user("root", "admin"))
        assert web_a.test_client().get("/api/v1/me", headers=lms).status_code == 200
        assert len(web_a.extensions["token_cache"]) == 1  # remembered
    with web_b.app_context():
        assert web_b.test_client().post("/api/v1/admin/users/lms/revoke-tokens", headers=root).status_code == 200
    with web_a.app_context():
        refused = web_a.test_client().get("/api/v1/me", headers=lms)
        assert refused.status_code == 401 and "revoked" in refused.json["error"]["message"]


def test_a_change_made_directly_in_the_database_applies_within_auth_cache_seconds(make_app):
    app = make_app(AUTH_CACHE_SECONDS=1)
    with app.app_context():
        amy = create_user("amy", "learner")
        headers, client = bearer(amy), app.test_client()
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        amy.active = False  # behind the API's back: no generation change
        db.session.commit()
        time.sleep(1.05)
        assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_remembered_token_still_expires_on_time(make_app):
    app = make_app(AUTH_CACHE_SECONDS=60)
    with app.app_context():
        headers, client = bearer(create_user("amy", "learner"), ttl=1), app.test_client()
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        time.sleep(1.05)
        expired = client.get("/api/v1/me", headers=headers)
        assert expired.status_code == 401 and expired.json["error"]["message"] == "token has expired"


def test_without_redis_every_token_is_verified_in_full(make_app):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    with app.app_context():
        amy = create_user("amy", "learner")
        headers, client = bearer(amy), app.test_client()
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        amy.active = False
        db.session.commit()
        assert client.get("/api/v1/me", headers=headers).status_code == 401
        assert len(app.extensions["token_cache"]) == 0


def test_the_token_cache_is_bounded_and_keyed_by_generation():
    cache: TokenCache[str] = TokenCache(size=2, seconds=60)
    far = time.time() + 600
    for token in ("a", "b", "c"):
        cache.put(token, token.upper(), far, b"g1")
    assert len(cache) == 2 and cache.get("a", b"g1") is None  # least recently used went first
    assert cache.get("c", b"g1") == ("C", far)
    assert cache.get("c", b"g2") is None and cache.get("c", b"g1") is None  # another generation drops it
    TokenCache(size=0, seconds=60).put("a", "A", far, b"g1")  # size 0: off, nothing kept


def test_with_rate_limits_the_generation_rides_on_the_count_and_revocation_still_applies_at_once(make_app):
    """Ingest requests read the credentials generation in their rate-limit round trip."""
    limits = {"RATE_LIMITS_ENABLED": True, "RATELIMIT_ENABLED": True}
    web_a, web_b = make_app(**limits), make_app(**limits)
    body = {"learner": "amy", "kind": "activity", "occurred_at": datetime.now(UTC).isoformat()}
    with web_a.app_context():
        lms = bearer(create_user("lms", "service"))
        root = bearer(create_user("root", "admin"))
        client_a = web_a.test_client()
        assert client_a.post("/api/v1/events", json=body, headers=lms).status_code == 201
        assert client_a.post("/api/v1/events", json=body, headers=lms).status_code == 201
        assert len(web_a.extensions["token_cache"]) == 1
    with web_b.app_context():
        assert web_b.test_client().post("/api/v1/admin/users/lms/revoke-tokens", headers=root).status_code == 200
    with web_a.app_context():
        refused = client_a.post("/api/v1/events", json=body, headers=lms)
        assert refused.status_code == 401 and "revoked" in refused.json["error"]["message"]
