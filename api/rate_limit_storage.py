"""Rate-limit counters in Redis at one round trip per limited request.

Flask-Limiter's fixed window with headers on costs three Redis calls per request: the increment,
then a GET and a TTL for the X-RateLimit-* and Retry-After headers. This storage (registered with
`limits` under the `learnpulse+redis` schemes) increments and reads the window's TTL in one script
and keeps both for the rest of the request, so the headers are built from what the increment saw. The
same script reads the credentials generation for the request's token check (api/auth/token_cache.py).
Outside a request it behaves exactly as limits' own Redis storage.
"""

from __future__ import annotations

import secrets
import time

import redis
from flask import has_request_context, request
from limits.storage import RedisStorage

from services.clients import REDIS_POOL_SIZE, REDIS_POOL_WAIT
from services.credentials import GENERATION_KEY

SCHEME_PREFIX = "learnpulse+"
# INCRBY, start the window's expiry on its first hit (as limits' own script does), return count and TTL;
# and, riding along, the credentials generation the token check of the same request needs (created
# with the random ARGV[3] if Redis has none), so that check costs no round trip of its own.
INCR_AND_TTL = """
local current = redis.call('INCRBY', KEYS[1], ARGV[2])
if current == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
redis.call('SET', KEYS[2], ARGV[3], 'NX')
return {current, redis.call('TTL', KEYS[1]), redis.call('GET', KEYS[2])}
"""


def storage_uri(redis_url: str) -> str:
    """The limiter's storage URI for a Redis URL: ours where the scheme allows, limits' own otherwise."""
    scheme = redis_url.partition("://")[0]
    return SCHEME_PREFIX + redis_url if scheme in ("redis", "rediss", "unix") else redis_url


GENERATION_ENVIRON_KEY = "learnpulse.credentials_generation"  # read by api.auth.guard


def _windows() -> dict[str, tuple[int, float]] | None:
    """(count, reset time) per counter incremented during this request, or None outside one. Kept in
    the WSGI environ, which belongs to one request (an app context, and `g`, can outlive several)."""
    if not has_request_context():
        return None
    return request.environ.setdefault("learnpulse.rate_limit_windows", {})


class OneTripRedisStorage(RedisStorage):
    """limits' Redis storage whose increment also returns the window's expiry (see the module doc)."""

    STORAGE_SCHEME = [SCHEME_PREFIX + scheme for scheme in ("redis", "rediss", "unix")]

    def __init__(self, uri: str, **options: float | str | bool) -> None:
        """A pool that makes callers wait for a connection, as the app's own (services.clients): with
        redis-py's default pool a burst of requests (a thousand sockets reconnecting) got "Too many
        connections" past 100 and the limiter failed open for the rest of the burst."""
        url = uri.removeprefix(SCHEME_PREFIX)
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=REDIS_POOL_SIZE, timeout=REDIS_POOL_WAIT, socket_timeout=5, socket_connect_timeout=2
        )
        super().__init__(url, connection_pool=pool, **options)

    def initialize_storage(self, uri: str) -> None:
        super().initialize_storage(uri)
        self.lua_incr_and_ttl = self.get_connection().register_script(INCR_AND_TTL)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        count, ttl, generation = self.lua_incr_and_ttl(
            [self.prefixed_key(key), GENERATION_KEY], [expiry, amount, secrets.token_hex(8)]
        )
        windows = _windows()
        if windows is not None:
            windows[key] = (int(count), max(int(ttl), 0) + time.time())
            request.environ[GENERATION_ENVIRON_KEY] = generation
        return int(count)

    def get(self, key: str) -> int:
        seen = (_windows() or {}).get(key)
        return seen[0] if seen is not None else super().get(key)

    def get_expiry(self, key: str) -> float:
        seen = (_windows() or {}).get(key)
        return seen[1] if seen is not None else super().get_expiry(key)
