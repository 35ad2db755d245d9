"""Rate limits: 429 in our error shape with Retry-After, per credential, held across web processes."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
import requests

from api.auth.tokens import issue_token
from api.rate_limit_storage import OneTripRedisStorage
from tests.conftest import SECRET, bearer, create_user
from tests.processes import service_env, start_web, wait_until
from tests.ws_client import Socket


def event(i: int) -> dict:
    return {"learner": "amy", "kind": "activity", "occurred_at": datetime.now(UTC).isoformat(), "id": f"e{i}"}


def test_ingest_is_limited_per_credential_with_a_json_429(make_app):
    app = make_app(RATE_LIMITS_ENABLED=True, RATELIMIT_ENABLED=True, RATE_LIMIT_INGEST="3 per minute")
    with app.app_context():
        one, other = bearer(create_user("lms", "service")), bearer(create_user("lms2", "service"))
        client = app.test_client()
        statuses = [client.post("/api/v1/events", json=event(i), headers=one).status_code for i in range(4)]
        assert statuses == [201, 201, 201, 429]
        refused = client.post("/api/v1/events", json=event(9), headers=one)
        assert refused.status_code == 429 and refused.is_json
        assert refused.json["error"]["code"] == "too_many_requests"
        assert (
            refused.json["error"]["message"]
            == "too many ingest requests: at most 3 per minute (per credential); see Retry-After"
        )
        assert int(refused.headers["Retry-After"]) > 0
        assert client.post("/api/v1/events", json=event(10), headers=other).status_code == 201  # its own budget
        assert client.get("/api/v1/me", headers=one).status_code == 200  # reads are not ingest


def test_token_minting_expensive_reads_and_login_have_their_own_json_429(make_app):
    """Per credential for minting and expensive reads, per address for /login; each scope its own budget."""
    app = make_app(
        RATE_LIMITS_ENABLED=True,
        RATELIMIT_ENABLED=True,
        RATE_LIMIT_TOKENS="2 per minute",
        RATE_LIMIT_READS="2 per minute",
        RATE_LIMIT_LOGIN="2 per minute",
    )
    with app.app_context():
        service, other = bearer(create_user("lms", "service")), bearer(create_user("lms2", "service"))
        admin = bearer(create_user("root", "admin"))
        create_user("amy", "learner")
        token, _ = issue_token(SECRET, "amy", "learner", 600)
        client = app.test_client()
        cases = {
            "tokens": (lambda h: client.post("/api/v1/auth/token", json={"user": "amy"}, headers=h), service, other),
            "reads": (lambda h: client.get("/api/v1/learners/amy/analytics", headers=h), admin, service),
            "login": (lambda h: client.get(f"/login?token={token}"), {}, None),
        }
        for scope, (call, caller, second) in cases.items():
            statuses = [call(caller).status_code for _ in range(3)]
            assert 429 not in statuses[:2] and statuses[2] == 429, (scope, statuses)
            refused = call(caller)
            assert refused.is_json and refused.json["error"]["code"] == "too_many_requests", scope
            assert f"too many {scope} requests: at most 2 per minute" in refused.json["error"]["message"]
            assert int(refused.headers["Retry-After"]) > 0, scope
            if second is not None:
                assert call(second).status_code != 429, f"{scope}: another credential has its own budget"
        assert client.get("/api/v1/me", headers=service).status_code == 200  # plain reads are not limited


def test_cors_allows_only_the_configured_origins(make_app):
    app = make_app(CORS_ALLOWED_ORIGINS=("https://lms.example",))
    client = app.test_client()
    preflight = {
        "Origin": "https://lms.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization",
    }
    allowed = client.options("/api/v1/me", headers=preflight)
    assert allowed.headers.get("Access-Control-Allow-Origin") == "https://lms.example"
    other = client.options("/api/v1/me", headers={**preflight, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert (
        "Access-Control-Allow-Origin" not in make_app().test_client().options("/api/v1/me", headers=preflight).headers
    )


@pytest.mark.integration
def test_limits_hold_across_two_web_processes(migrated, redis_url, app, tmp_path: Path):
    """The counter lives in Redis: requests alternating between two processes share one budget."""
    token = bearer(create_user("lms", "service"))
    env = service_env(
        migrated,
        redis_url,
        SECRET,
        RATE_LIMITS_ENABLED="true",
        RATE_LIMIT_INGEST="4 per minute",
        RATE_LIMIT_WEBSOCKET="3 per minute",
    )
    web_a, url_a = start_web(env, tmp_path, "web-a", processes=1)
    web_b, url_b = start_web(env, tmp_path, "web-b", processes=1)
    try:
        for url in (url_a, url_b):
            wait_until(lambda url=url: requests.get(f"{url}/health", timeout=2).status_code in (200, 503), 60, "web up")
        statuses = [
            requests.post(f"{url}/api/v1/events", json=event(i), headers=token, timeout=10).status_code
            for i, url in enumerate([url_a, url_b] * 3)
        ]
        assert statuses == [201, 201, 201, 201, 429, 429]
        sockets = []
        for url in (url_a, url_b, url_a):
            sockets.append(Socket(url, "/ws"))
        with pytest.raises(Exception) as refused:  # the 4th attempt from this address, on either process
            Socket(url_b, "/ws")
        assert "429" in str(refused.value)
        for socket_ in sockets:
            socket_.close()
    finally:
        web_a.stop()
        web_b.stop()


def test_headers_come_from_the_one_round_trip_increment(make_app):
    """The X-RateLimit-* headers count down per request without a second Redis read per request."""
    app = make_app(RATE_LIMITS_ENABLED=True, RATELIMIT_ENABLED=True, RATE_LIMIT_INGEST="3 per minute")
    with app.app_context():
        assert type(app.extensions["rate_limiter"].storage) is OneTripRedisStorage
        one = bearer(create_user("lms", "service"))
        client = app.test_client()
        responses = [client.post("/api/v1/events", json=event(i), headers=one) for i in range(4)]
        assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
        assert {r.headers["X-RateLimit-Limit"] for r in responses} == {"3"}
        resets = [int(r.headers["X-RateLimit-Reset"]) for r in responses]
        # one window, ending within a minute (whole-second TTL plus the clock: the value may step by one)
        assert max(resets) - min(resets) <= 1 and 0 < resets[-1] - time.time() <= 62
        assert 0 < int(responses[-1].headers["Retry-After"]) <= 60


def test_a_burst_of_limited_requests_waits_for_a_connection_instead_of_failing_open(redis_url):
    """More concurrent limiter calls than the pool holds (a thousand sockets reconnecting at once) wait
    for a connection; redis-py's default pool raised "Too many connections" past 100 there, and the
    limiter then let those requests through unchecked."""
    import threading

    from api.rate_limit_storage import storage_uri
    from services.clients import REDIS_POOL_SIZE

    storage = OneTripRedisStorage(storage_uri(redis_url))
    callers, errors, start = 3 * REDIS_POOL_SIZE, [], threading.Barrier(3 * REDIS_POOL_SIZE)

    def hit() -> None:
        start.wait()
        try:
            storage.incr("burst-test", 60)
        except Exception as exc:  # noqa: BLE001  (any failure is the finding)
            errors.append(exc)

    threads = [threading.Thread(target=hit) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert storage.get("burst-test") == callers
    assert storage.storage.connection_pool.max_connections == REDIS_POOL_SIZE


def test_a_view_under_two_prefixes_counts_once_per_request(make_app):
    """/api/progress/track/ and /api/v1/progress/track/ are one view under two endpoints: one hit each
    (Flask-Limiter gathered limits by function name and counted both prefixes' limits on every request)."""
    app = make_app(RATE_LIMITS_ENABLED=True, RATELIMIT_ENABLED=True, RATE_LIMIT_INGEST="3 per minute")
    with app.app_context():
        lms = bearer(create_user("lms", "service"))
        client = app.test_client()
        paths = ["/api/progress/track/", "/api/v1/progress/track/", "/api/progress/track/", "/api/v1/progress/track/"]
        responses = [client.post(path, json={}, headers=lms) for path in paths]
        assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
        assert [r.status_code for r in responses][-1] == 429 and 429 not in [r.status_code for r in responses[:3]]


def test_several_limits_in_one_setting_report_the_smallest_window_and_stop_at_the_first_breach(make_app, redis_url):
    app = make_app(RATE_LIMITS_ENABLED=True, RATELIMIT_ENABLED=True, RATE_LIMIT_INGEST="5 per hour; 2 per minute")
    with app.app_context():
        lms = bearer(create_user("lms", "service"))
        client = app.test_client()
        responses = [client.post("/api/v1/events", json=event(i), headers=lms) for i in range(3)]
        assert [r.status_code for r in responses] == [201, 201, 429]
        assert [r.headers["X-RateLimit-Limit"] for r in responses] == ["2", "2", "2"]
        assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["1", "0", "0"]
        assert "at most 5 per hour; 2 per minute" in responses[-1].json["error"]["message"]
        store = redis.Redis.from_url(redis_url)
        counts = {
            window: int(store.get(key))
            for window in ("2/1/minute", "5/1/hour")
            for key in store.keys(f"LIMITS:LIMITER/learnpulse:ratelimit/token:*/ingest/{window}")
        }
        assert counts == {"2/1/minute": 3, "5/1/hour": 2}  # the hour's count stopped when the minute's was breached


def test_with_the_counter_store_down_requests_are_served_without_limits(make_app):
    app = make_app(
        RATE_LIMITS_ENABLED=True,
        RATELIMIT_ENABLED=True,
        RATE_LIMIT_INGEST="1 per minute",
        RATELIMIT_STORAGE_URI="learnpulse+redis://127.0.0.1:1/0",
    )
    with app.app_context():
        lms = bearer(create_user("lms", "service"))
        client = app.test_client()
        responses = [client.post("/api/v1/events", json=event(i), headers=lms) for i in range(3)]
        assert [r.status_code for r in responses] == [201, 201, 201]
        assert not any("X-RateLimit-Limit" in r.headers for r in responses)


def test_the_window_script_survives_a_dropped_connection_and_a_flushed_script_cache(redis_url):
    """The limiter's script runs on its own path (not redis-py's Script): a pooled connection the server closed
    is replaced by its retry, and a script the server forgot is loaded again; the counts go on."""
    from api.rate_limit_storage import storage_uri

    storage = OneTripRedisStorage(storage_uri(redis_url))
    admin = redis.Redis.from_url(redis_url)
    admin.delete(storage.prefixed_key("stale-test"))
    assert storage.incr_window("stale-test", 60)[0] == 1
    admin.client_kill_filter(_type="normal", skipme=True)  # every other client, the pooled one too
    assert storage.incr_window("stale-test", 60)[0] == 2
    admin.script_flush()
    count, ends = storage.incr_window("stale-test", 60)
    assert count == 3 and time.time() < ends <= time.time() + 61
    assert admin.script_exists(storage.lua_incr_and_ttl.sha) == [True]


def test_the_window_script_is_sent_again_when_its_connection_fails(redis_url, monkeypatch):
    """A connection error while the script is sent (a connection that went stale after its checkout) is handled
    as redis-py's client handles it with this pool's connections (no retries configured): the connection is
    dropped and the error raised (the limiter then lets the request through); the next hit counts on a fresh one."""
    from api.rate_limit_storage import storage_uri
    from tests.test_redis_wire import FailingSocket

    storage = OneTripRedisStorage(storage_uri(redis_url))
    redis.Redis.from_url(redis_url).delete(storage.prefixed_key("retry-test"))
    pool, failed, failures = storage.storage.connection_pool, [], []
    taken = pool.get_connection

    def stale_once(*args, **kwargs):
        connection = taken(*args, **kwargs)
        if not failed:
            connection._sock = FailingSocket(connection._sock, failures)  # its writes fail as a reset socket's
            failed.append(connection)
        return connection

    monkeypatch.setattr(pool, "get_connection", stale_once)
    with pytest.raises(redis.ConnectionError, match="Error 104 while writing to socket"):
        storage.incr_window("retry-test", 60)
    assert len(failed) == 1 and not failed[0].is_connected and failures
    assert storage.incr_window("retry-test", 60)[0] == 1
