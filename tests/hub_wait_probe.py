"""Run by tests/test_pg_hub_wait.py in a process of its own: gevent patched first, as in gunicorn's gevent workers."""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
import psycopg  # noqa: E402
from psycopg import waiting  # noqa: E402

from api.pg_hub_wait import use_hub_waits, wait_on_hub  # noqa: E402

URL = sys.argv[1]
WAITS = {"n": 0}


def counted(*args, **kwargs):
    WAITS["n"] += 1
    return wait_on_hub(*args, **kwargs)


def main() -> dict:
    found: dict = {"installed": use_hub_waits() and waiting.wait is wait_on_hub}
    waiting.wait = counted  # counts that every wait below went through wait_on_hub
    with psycopg.connect(URL, autocommit=True) as conn:
        found["one"] = conn.execute("SELECT %s::int + 1", (41,)).fetchone()[0]
        big = "x" * 3_000_000  # more than the socket buffers: writes wait for room, reads come in pieces
        found["echo"] = conn.execute(
            "SELECT length(%s::text), md5(%s::text) = md5(repeat('x', 3000000))", (big, big)
        ).fetchone()
        found["rows"] = len(conn.execute("SELECT repeat('y', 1000) FROM generate_series(1, 5000)").fetchall())
        with conn.pipeline():
            cursors = [conn.execute("SELECT %s::int * 2", (n,)) for n in range(20)]
        found["pipeline"] = [c.fetchone()[0] for c in cursors]
        conn.execute("CREATE TEMP TABLE copied (n int)")
        with conn.cursor().copy("COPY copied (n) FROM STDIN") as copy:
            for n in range(10_000):
                copy.write_row((n,))
        found["copied"] = conn.execute("SELECT count(*), sum(n) FROM copied").fetchone()
        started = time.monotonic()
        found["slow"] = conn.execute("SELECT pg_sleep(0.35), 7").fetchone()[1]  # several 0.1 s wake-ups
        found["slow_seconds"] = time.monotonic() - started

    def sleeper(n: int) -> int:
        with psycopg.connect(URL, autocommit=True) as own:
            return own.execute("SELECT pg_sleep(0.3), %s::int", (n,)).fetchone()[1]

    started = time.monotonic()
    jobs = [gevent.spawn(sleeper, n) for n in range(10)]
    gevent.joinall(jobs, raise_error=True)
    found["concurrent"] = [job.value for job in jobs]
    found["concurrent_seconds"] = time.monotonic() - started  # 10 x 0.3 s one after another would be 3 s

    victim = psycopg.connect(URL, autocommit=True)
    pid = victim.info.backend_pid

    def terminate() -> None:
        gevent.sleep(0.2)
        with psycopg.connect(URL, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (pid,))

    killer = gevent.spawn(terminate)
    try:
        victim.execute("SELECT pg_sleep(5)")
        found["terminated"] = "no error"
    except psycopg.OperationalError:
        found["terminated"] = "OperationalError"
    killer.join()
    found["waits"] = WAITS["n"]
    return found


print(json.dumps(main()))
