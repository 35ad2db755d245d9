"""services.redis_wire against a real Redis: a pipeline run by run_pipeline gives what redis-py's own
`execute(raise_on_error=False)` gives (replies, error replies, NOSCRIPT, failures and retries), command for command."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from services.clients import shared_redis
from services.redis_trip import RoundTrip
from services.redis_wire import run_pipeline

KEY = "learnpulse:wiretest:"


def queue_everything(pipe: Any) -> None:
    """Commands whose replies go through redis-py's callbacks, and error replies of several kinds."""
    pipe.set(KEY + "s", "1")
    pipe.incr(KEY + "s")
    pipe.get(KEY + "s")
    pipe.incr(KEY + "text")  # ERR value is not an integer
    pipe.zadd(KEY + "z", {"a": 1.5, "b": 2}, gt=True)
    pipe.zmscore(KEY + "z", ["a", "missing", "b"])
    pipe.zrange(KEY + "z", 0, -1, withscores=True)
    pipe.zcount(KEY + "z", 2, "+inf")
    pipe.hset(KEY + "h", mapping={"f": "v", "g": "w"})
    pipe.hgetall(KEY + "h")
    pipe.lpush(KEY + "h", "x")  # WRONGTYPE
    pipe.evalsha("0" * 40, 0)  # NOSCRIPT
    pipe.eval("return {1, 'two', redis.status_reply('OK'), false}", 0)
    pipe.eval("return redis.error_reply('MY failure')", 0)
    pipe.exists(KEY + "s", KEY + "nothing")
    pipe.delete(KEY + "gone")


def described(replies: list[Any]) -> list[Any]:
    """Replies comparable across runs: an error as its class and message."""
    return [(type(reply).__name__, str(reply)) if isinstance(reply, Exception) else reply for reply in replies]


def fresh(client: redis.Redis) -> None:
    client.delete(*[KEY + name for name in ("s", "text", "z", "h", "gone", "big")])
    client.set(KEY + "text", "not a number")


def _expected_and_queued(reference: redis.Redis, client: redis.Redis) -> tuple[list, Any]:
    """redis-py's own replies to everything from a fresh database, and `client`'s pipeline queued with the same
    commands against a fresh database again."""
    fresh(reference)
    pipe = reference.pipeline(transaction=False)
    queue_everything(pipe)
    expected = described(pipe.execute(raise_on_error=False))
    fresh(reference)
    pipe = client.pipeline(transaction=False)
    queue_everything(pipe)
    return expected, pipe


@pytest.mark.parametrize("decode", [False, True])
def test_replies_are_redis_pys_own(redis_url, decode):
    reference = redis.Redis.from_url(redis_url, decode_responses=decode)
    lean = redis.Redis.from_url(redis_url, decode_responses=decode)  # held: a collected client closes its pool
    expected, pipe = _expected_and_queued(reference, lean)
    got = run_pipeline(pipe)
    assert described(got) == expected and pipe.command_stack == []
    assert [type(reply) for reply in got if isinstance(reply, Exception)] == [
        redis.ResponseError,
        redis.ResponseError,
        redis.exceptions.NoScriptError,
        redis.ResponseError,
    ]


def test_the_shared_client_with_its_packer_and_health_checks_sends_the_same(redis_url):
    client, reference = shared_redis(redis_url), redis.Redis.from_url(redis_url)
    expected, pipe = _expected_and_queued(reference, client)
    assert described(run_pipeline(pipe)) == expected


def test_a_command_larger_than_one_send_goes_out_whole(redis_url):
    """A write the socket takes only part of goes on with the rest; the next command on the connection is in step."""
    client = shared_redis(redis_url)
    value = b"x" * (8 << 20)
    pipe = client.pipeline(transaction=False)
    pipe.set(KEY + "big", value).strlen(KEY + "big").get(KEY + "big")
    assert run_pipeline(pipe) == [True, len(value), value]
    assert client.delete(KEY + "big") == 1


class FailingSocket:
    """A connection's socket whose first write fails as a connection the server closed would."""

    def __init__(self, sock: Any, failures: list[str]) -> None:
        self._sock, self._failures = sock, failures

    def send(self, *args: Any) -> int:
        return self._fail("send") or self._sock.send(*args)

    def sendall(self, *args: Any) -> None:
        return self._fail("sendall") or self._sock.sendall(*args)

    def _fail(self, name: str) -> None:
        self._failures.append(name)
        raise ConnectionResetError(104, "Connection reset by peer")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def outcome(client: redis.Redis, run: Any) -> tuple[Any, int, bool]:
    """What a pipeline whose first connection's socket fails every write gives (its replies, or the error), how
    many writes failed, and whether that connection was left disconnected."""
    fresh(client)
    failures: list[str] = []
    failing: list[Any] = []
    pool = client.connection_pool
    taken = pool.get_connection

    def failing_once(*args: Any, **kwargs: Any) -> Any:
        connection = taken(*args, **kwargs)
        if not failing:
            connection._sock = FailingSocket(connection._sock, failures)
            failing.append(connection)
        return connection

    pool.get_connection = failing_once  # type: ignore[method-assign]
    pipe = client.pipeline(transaction=False)
    pipe.incr(KEY + "s").get(KEY + "s")
    try:
        result: Any = described(run(pipe))
    except redis.RedisError as error:
        result = (type(error).__name__, str(error))
    return result, len(failures), not isinstance(failing[0]._sock, FailingSocket)


@pytest.mark.parametrize("retries", [0, 2])
def test_a_failed_write_is_retried_or_raised_as_redis_py_does(redis_url, retries):
    def client() -> redis.Redis:
        retry = Retry(NoBackoff(), retries)
        return redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(redis_url, retry=retry))

    expected = outcome(client(), lambda pipe: pipe.execute(raise_on_error=False))
    assert outcome(client(), run_pipeline) == expected
    if retries:
        assert expected == ([1, b"1"], 1, True)
    else:
        assert expected == (
            ("ConnectionError", "Error 104 while writing to socket. Connection reset by peer."),
            1,
            True,
        )


def test_a_round_trip_reloads_a_script_redis_forgot_and_survives_a_dropped_connection(redis_url):
    client = shared_redis(redis_url)
    script = client.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    client.delete(KEY + "s")
    for expected in (2, 4):
        client.script_flush()
        trip = RoundTrip(client)
        trip.add(lambda pipe: pipe.exists(KEY + "s"))
        index = trip.add_script(script, [KEY + "s"], [2])
        assert trip.execute()[index] == expected
        redis.Redis.from_url(redis_url).client_kill_filter(_type="normal", skipme=True)
    trip = RoundTrip(client)
    trip.add(lambda pipe: pipe.lpush(KEY + "s", "x"))
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        trip.execute()


@pytest.mark.parametrize("run", ["redis-py", "run_pipeline"])
def test_a_due_health_check_on_a_dropped_connection_reconnects_before_the_write(redis_url, run):
    """The shared client checks a connection's health every 30 s: a due check on a connection the server closed
    reconnects (its PING's retry), and the commands go out on the new socket."""
    client = shared_redis(redis_url)
    fresh(client)
    client.ping()
    for connection in client.connection_pool._connections:
        connection.next_health_check = 0  # due
    redis.Redis.from_url(redis_url).client_kill_filter(_type="normal", skipme=True)
    pipe = client.pipeline(transaction=False)
    pipe.incr(KEY + "s").get(KEY + "s")
    assert (pipe.execute(raise_on_error=False) if run == "redis-py" else run_pipeline(pipe)) == [1, b"1"]
