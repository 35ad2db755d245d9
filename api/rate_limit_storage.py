"""Rate-limit counters in Redis at one round trip per limited request.

A fixed window with headers costs limits' own Redis storage three calls per request: the increment,
then a GET and a TTL for the X-RateLimit-* and Retry-After headers. This storage (registered with
`limits` under the `learnpulse+redis` schemes) increments and reads the window's TTL in one script
(`incr_window`, what api/fixed_window.py calls). The same script reads the credentials generation for
the request's token check (api/auth/token_cache.py). Its other methods are limits' own Redis storage's.

The script runs on a pooled connection with redis-py's own send, read, retry and pool, but not through
`Script` -> `evalsha` -> `execute_command`, whose layers (observability timers, per-call closures, option
handling) cost more Python than the trip's own work; a script the server lost goes through `Script`, which
loads it again.
"""

from __future__ import annotations

import os
import time
from typing import Any

import redis
from flask import has_request_context, request
from limits.storage import RedisStorage
from redis.exceptions import NoScriptError

from services.clients import REDIS_POOL_SIZE, REDIS_POOL_WAIT
from services.credentials import GENERATION_KEY
from services.redis_wire import send_packed
from services.resp_packer import RespPacker

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


class OneTripRedisStorage(RedisStorage):
    """limits' Redis storage whose increment also returns the window's expiry (see the module doc)."""

    STORAGE_SCHEME = [SCHEME_PREFIX + scheme for scheme in ("redis", "rediss", "unix")]

    def __init__(self, uri: str, **options: float | str | bool) -> None:
        """A pool that makes callers wait for a connection, and packs commands, as the app's own
        (services.clients): with redis-py's default pool a burst of requests (a thousand sockets reconnecting)
        got "Too many connections" past 100 and the limiter failed open for the rest of the burst."""
        url = uri.removeprefix(SCHEME_PREFIX)
        pool = redis.BlockingConnectionPool.from_url(
            url,
            max_connections=REDIS_POOL_SIZE,
            timeout=REDIS_POOL_WAIT,
            socket_timeout=5,
            socket_connect_timeout=2,
            command_packer=RespPacker(),  # the app's: redis-py's bytes for less CPU (services/resp_packer.py)
        )
        super().__init__(url, connection_pool=pool, **options)

    def initialize_storage(self, uri: str) -> None:
        super().initialize_storage(uri)
        self.lua_incr_and_ttl = self.get_connection().register_script(INCR_AND_TTL)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self.incr_window(key, expiry, amount)[0]

    def incr_window(self, key: str, expiry: int, amount: int = 1) -> tuple[int, float]:
        """Add `amount` to the window's count: (count, when the window ends in epoch seconds). In a request,
        the credentials generation read along is left in the request's environ for the token check."""
        count, ttl, generation = self._run_script(
            [self.prefixed_key(key), GENERATION_KEY], [expiry, amount, random_token()]
        )
        if has_request_context():
            request.environ[GENERATION_ENVIRON_KEY] = generation
        return int(count), max(int(ttl), 0) + time.time()

    def _run_script(self, keys: list[str], args: list[Any]) -> Any:
        """EVALSHA of INCR_AND_TTL as redis-py's Script would run it: a connection from the pool, the command
        sent and its reply read with the connection's retries (each failure disconnects it, so a stale one is
        replaced), the connection given back; a NoScriptError re-runs it through the Script, which loads it."""
        script = self.lua_incr_and_ttl
        pool = self.storage.connection_pool
        connection = pool.get_connection()
        try:
            packed = connection.pack_command("EVALSHA", script.sha, len(keys), *keys, *args)
            return connection.retry.call_with_retry(
                lambda: _send_and_read(connection, packed), lambda _error: connection.disconnect()
            )
        except NoScriptError:
            pass
        finally:
            if connection.should_reconnect():  # a server's maintenance notice asked for it, as redis-py does
                connection.disconnect()
                connection.connect()
            pool.release(connection)
        return script(keys, args)


def _send_and_read(connection: Any, packed: Any) -> Any:
    """One command on one connection: what redis-py's client does between taking and giving back a connection
    (its write in one `send`, services.redis_wire)."""
    send_packed(connection, packed)
    return connection.read_response()


_random_bytes, _random_at = b"", 0


def random_token() -> str:
    """16 hex digits from os.urandom, as secrets.token_hex(8) gives, drawn from 4 KB read at a time: one system
    call per 512 requests instead of one each (only a credentials generation Redis lacks is ever made of it)."""
    global _random_bytes, _random_at
    if _random_at + 8 > len(_random_bytes):
        _random_bytes, _random_at = os.urandom(4096), 0
    _random_at += 8
    return _random_bytes[_random_at - 8 : _random_at].hex()
