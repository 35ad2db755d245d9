"""Commands written to and read from a pooled Redis connection without redis-py's per-call layers.

redis-py's `Pipeline.execute` wraps the same write and reads in observability timers, per-call closures, the
HIMPORT bookkeeping and a `sendall` that asks the socket its buffer size (a system call) before every write;
per web request that cost more Python than the round trip's own work. `run_pipeline` does what
`execute(raise_on_error=False)` does for a non-transactional pipeline without WATCH or `Script` objects: the
same packed bytes in one write, each reply read and parsed by the pipeline's own `parse_response` (the same
response callbacks), an error reply left in its place, the connection's retries (each failure disconnects it)
and the pool's checkout and release.
"""

from __future__ import annotations

from typing import Any

from redis.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError


def send_packed(connection: Any, packed: list[Any]) -> None:
    """`connection.send_packed_command(packed)` (health check, connecting, errors, disconnect on failure), written
    with one `send` of the joined bytes; only what the socket did not take goes through `sendall`."""
    if getattr(connection, "_sock", None) is None:  # not connected yet (or a wrapper, redis-py's client-side
        connection.send_packed_command(packed)  # cache): redis-py connects and checks as it always does
        return
    connection.check_health()  # a due PING may reconnect: the socket is read after it
    sock = connection._sock
    data = packed[0] if len(packed) == 1 else b"".join(packed)
    try:
        sent = sock.send(data)
    except TimeoutError as error:  # socket.timeout
        connection.disconnect()
        raise RedisTimeoutError("Timeout writing to socket") from error
    except OSError as error:
        connection.disconnect()
        errno, message = ("UNKNOWN", error.args[0]) if len(error.args) == 1 else error.args[:2]
        raise RedisConnectionError(f"Error {errno} while writing to socket. {message}.") from error
    except BaseException:
        connection.disconnect()  # a half-written command must not stay on a pooled connection
        raise
    if sent < len(data):
        connection.send_packed_command([memoryview(data)[sent:]], check_health=False)


def run_pipeline(pipe: Pipeline) -> list[Any]:
    """The pipeline's queued commands sent and their replies read, as `pipe.execute(raise_on_error=False)`;
    the pipeline is left empty. For non-transactional pipelines without WATCH or scripts queued as `Script`."""
    stack, pipe.command_stack = pipe.command_stack, []
    if not stack:
        return []
    pool = pipe.connection_pool
    connection = pool.get_connection()
    try:
        packed = connection.pack_commands([args for args, _ in stack])
        return connection.retry.call_with_retry(
            lambda: _exchange(pipe, connection, packed, stack), lambda _error: connection.disconnect()
        )
    finally:
        pool.release(connection)


def _exchange(pipe: Pipeline, connection: Any, packed: list[Any], stack: list[Any]) -> list[Any]:
    """One write, then every reply read (an error reply kept in its place, so the connection stays in step)."""
    send_packed(connection, packed)
    replies: list[Any] = []
    for args, options in stack:
        try:
            replies.append(pipe.parse_response(connection, args[0], **options))
        except ResponseError as error:
            replies.append(error)
    return replies
