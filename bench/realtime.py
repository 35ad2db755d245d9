"""Real-time delivery benchmark: one gunicorn web process (gevent), real Redis, real WebSocket clients.

(a) publish-to-receive latency, p50/p99, with 1,000 connected clients of which 500 receive 5
    messages/s each on their own channel; beside it the floor: the same messages received by a
    raw Redis pub/sub subscriber in the same client process and event loop.
(b) idle connections held by one web process: memory per connection (worker RSS), and the number of
    Redis connections before and after (it must not grow with sockets).
(c) fan-out: time from publishing one message to its arrival at the last of 1,000 and of 5,000
    clients following the same channel (median over repeats).

    .venv/bin/python bench/realtime.py            # about 2 minutes
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import redis
import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.config import normalize_database_url  # noqa: E402
from bench.common import bench_parser, fresh_database, percentile  # noqa: E402
from bench.live_sockets import collect_latencies, open_sockets  # noqa: E402
from bench.web_process import start_web  # noqa: E402

BIN = Path(sys.executable).parent
SECRET = "bench-secret-" + "x" * 40


def publisher(redis_url: str, channels: list[str], per_second: float, seconds: float, ready) -> None:
    """Separate process: publish {"t": send time} to every channel `per_second` times a second."""
    from services.publisher import publish

    client = redis.Redis.from_url(redis_url)
    ready.wait()
    tick, started = 0.02, time.time()
    due = 0.0
    while (now := time.time()) - started < seconds:
        due += per_second * len(channels) * tick
        count, due = int(due), due - int(due)
        offset = int((now - started) / tick) * count
        publish(
            client, [("activity", channels[(offset + i) % len(channels)], {"t": time.time()}) for i in range(count)]
        )
        time.sleep(max(0.0, tick - (time.time() - now)))


async def raw_floor(redis_url: str, seconds: float, latencies: list[float], subscribed: asyncio.Event) -> None:
    """The same messages straight from Redis pub/sub, in this process and loop: the floor."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.psubscribe("learnpulse:channel:learner:*")
    subscribed.set()
    deadline = time.time() + seconds
    while time.time() < deadline:
        message = await pubsub.get_message(timeout=0.5)
        if message and message["type"] == "pmessage":
            received = time.time()
            data = json.loads(message["data"])
            latencies.append(received - data["data"]["t"])
    await pubsub.aclose()
    await client.aclose()


def worker_process(master_pid: int) -> psutil.Process:
    children = psutil.Process(master_pid).children()
    assert len(children) == 1, "the benchmark runs one gunicorn worker process"
    return children[0]


def redis_clients(client: redis.Redis) -> int:
    return int(client.info("clients")["connected_clients"])


async def fan_out(sockets: list, redis_url: str, repeats: int, worker: psutil.Process) -> dict[str, float]:
    """Publish one message to the admin channel; time its arrival at every socket. The web worker's
    CPU time per fan-out is reported too: the client process shares the 2 cores and parses every copy."""
    from services.publisher import publish

    client = redis.Redis.from_url(redis_url)
    lasts = []
    cpu_before = sum(worker.cpu_times()[:2])
    for _ in range(repeats):
        sent = time.time()
        publish(client, [("activity", "admin", {"t": sent})])
        arrivals = await asyncio.gather(*(ws.recv() for ws in sockets))
        received = time.time()
        assert all(json.loads(raw)["data"]["t"] == sent for raw in arrivals)
        lasts.append(received - sent)
        await asyncio.sleep(0.2)
    server_cpu = (sum(worker.cpu_times()[:2]) - cpu_before) / repeats
    return {
        "last_ms_median": 1000 * statistics.median(lasts),
        "last_ms_max": 1000 * max(lasts),
        "server_cpu_ms": 1000 * server_cpu,
    }


def prepare(database_url: str, redis_url: str, learners: int) -> tuple[list[str], str]:
    fresh_database(database_url)
    redis.Redis.from_url(redis_url).flushdb()
    from flask_migrate import upgrade

    from api import create_app
    from api.auth.tokens import issue_token
    from models import User, db

    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url})
    with app.app_context():
        upgrade()
        now = datetime.now(UTC)
        db.session.execute(
            sa.insert(User),
            [
                {"external_id": f"rt{i}", "role": "learner", "active": True, "created_at": now, "updated_at": now}
                for i in range(learners)
            ]
            + [{"external_id": "rt-admin", "role": "admin", "active": True, "created_at": now, "updated_at": now}],
        )
        db.session.commit()
        db.engine.dispose()
    tokens = [issue_token(SECRET, f"rt{i}", "learner", 7200)[0] for i in range(learners)]
    return tokens, issue_token(SECRET, "rt-admin", "admin", 7200)[0]


async def _latency(args, url: str, tokens: list[str]) -> dict:
    """(a) 1,000 connected, 500 receiving 5 messages/s each, beside the raw pub/sub floor."""
    print(
        f"[2/4] (a) {args.clients} clients, {args.active} of them receiving {args.rate:g} messages/s "
        f"for {args.seconds:g} s ...",
        flush=True,
    )
    sockets = await open_sockets(url, tokens[: args.clients], "/ws/activity/")
    ready = multiprocessing.Event()
    channels = [f"learner:rt{i}" for i in range(args.active)]
    proc = multiprocessing.Process(target=publisher, args=(args.redis_url, channels, args.rate, args.seconds, ready))
    proc.start()
    ws_latencies: list[float] = []
    floor_latencies: list[float] = []
    subscribed = asyncio.Event()
    floor = asyncio.create_task(raw_floor(args.redis_url, args.seconds + 1, floor_latencies, subscribed))
    await subscribed.wait()
    ready.set()
    await collect_latencies(sockets[: args.active], args.seconds + 1, ws_latencies)
    await floor
    proc.join()
    warm = int(len(ws_latencies) * 0.05)  # the first 5% include connection warm-up
    ws_latencies, floor_latencies = ws_latencies[warm:], floor_latencies[int(len(floor_latencies) * 0.05) :]
    await asyncio.gather(*(ws.close() for ws in sockets))
    return {
        "messages": len(ws_latencies),
        "ws_p50_ms": 1000 * percentile(ws_latencies, 50),
        "ws_p99_ms": 1000 * percentile(ws_latencies, 99),
        "redis_p50_ms": 1000 * percentile(floor_latencies, 50),
        "redis_p99_ms": 1000 * percentile(floor_latencies, 99),
    }


async def run(args, url: str, master_pid: int, tokens: list[str], admin_token: str) -> dict:
    results: dict = {}
    data = redis.Redis.from_url(args.redis_url)
    worker = worker_process(master_pid)
    rss_empty = worker.memory_info().rss
    results["latency"] = await _latency(args, url, tokens)
    await asyncio.sleep(1.0)

    # (b) + (c): admin sockets all follow the admin channel.
    print(f"[3/4] (b, c) fan-out to 1,000 then {args.idle:,} sockets; memory and Redis connections ...", flush=True)
    first = await open_sockets(url, [admin_token], "/ws/activity/")
    redis_before = redis_clients(data)
    rss_before = worker.memory_info().rss
    started = time.perf_counter()
    sockets = first + await open_sockets(url, [admin_token] * 999, "/ws/activity/")
    results["fanout_1000"] = await fan_out(sockets, args.redis_url, args.repeats, worker)
    sockets += await open_sockets(url, [admin_token] * (args.idle - 1000), "/ws/activity/")
    opened = time.perf_counter() - started
    await asyncio.sleep(2.0)
    rss_after = worker.memory_info().rss
    health = requests.get(f"{url.replace('ws://', 'http://')}/health", timeout=10).json()["checks"]["realtime"]
    results["idle"] = {
        "connections": health["connections"],
        "open_seconds": opened,
        "rss_empty_mb": rss_empty / 2**20,
        "rss_after_mb": rss_after / 2**20,
        "kb_per_connection": (rss_after - rss_before) / 1024 / (args.idle - 1),
        "redis_clients_before": redis_before,
        "redis_clients_after": redis_clients(data),
    }
    results[f"fanout_{args.idle}"] = await fan_out(sockets, args.redis_url, args.repeats, worker)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return results


def _arguments():
    parser = bench_parser(__doc__, "learnpulse_bench_realtime", 12)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--active", type=int, default=500)
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second per active client")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=20)
    return parser.parse_args()


def _report(args, results: dict) -> None:
    latency, idle = results["latency"], results["idle"]
    print("[4/4] results\n")
    print("| measure | value |\n| --- | --- |")
    print(
        f"| (a) publish-to-receive, {args.clients:,} connected, {args.active} x {args.rate:g} msg/s "
        f"({latency['messages']:,} messages) | p50 {latency['ws_p50_ms']:.1f} ms, p99 {latency['ws_p99_ms']:.1f} ms |"
    )
    print(
        f"| (a) floor: raw Redis pub/sub, same messages, same client loop | p50 {latency['redis_p50_ms']:.1f} ms, "
        f"p99 {latency['redis_p99_ms']:.1f} ms |"
    )
    print(
        f"| (b) idle sockets held by one web process | {idle['connections']:,} (opened in {idle['open_seconds']:.1f} s) |"
    )
    print(
        f"| (b) worker memory | {idle['rss_empty_mb']:.0f} MB before, {idle['rss_after_mb']:.0f} MB after: "
        f"{idle['kb_per_connection']:.1f} KB per connection |"
    )
    print(
        f"| (b) Redis connections (whole server) | {idle['redis_clients_before']} with 1 socket, "
        f"{idle['redis_clients_after']} with {idle['connections']:,} |"
    )
    for n in (1000, args.idle):
        fan = results[f"fanout_{n}"]
        print(
            f"| (c) fan-out of one message to {n:,} sockets, until the last has it | median {fan['last_ms_median']:.1f} ms, "
            f"max {fan['last_ms_max']:.1f} ms ({args.repeats} repeats); web process CPU {fan['server_cpu_ms']:.1f} ms per fan-out |"
        )


def main() -> None:
    args = _arguments()
    database_url = normalize_database_url(args.database_url)
    print(f"[1/4] fresh database with {args.clients:,} learners; one gunicorn worker process (gevent)", flush=True)
    tokens, admin_token = prepare(database_url, args.redis_url, args.clients)
    web, port = start_web(database_url, args.redis_url, SECRET, "/tmp/learnpulse-bench-realtime-web.log")
    try:
        results = asyncio.run(run(args, f"ws://127.0.0.1:{port}", web.pid, tokens, admin_token))
    finally:
        web.terminate()
        web.wait(15)
    _report(args, results)


if __name__ == "__main__":
    main()
