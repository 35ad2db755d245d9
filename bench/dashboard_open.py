"""Does opening dashboards stall live delivery? One gunicorn web process (gevent), real Redis, real clients.

A school (bench/school_seed.py: one educator, 5 sections x 200 learners, ~30 activities and
assessments each over 30 days plus registers, through the REST API, then evaluated by the worker's
task bodies) and 1,000 learner sockets on /ws/activity/, 500 of them receiving 5 messages/s each on
their own channel, published from a separate process with services.publisher.publish.

  alone   the educator's /ws/dashboard/ opened a few times with no other traffic: time to
          dashboard_initial_data and web-process CPU per open (what one open costs)
  A       baseline: publish-to-receive latency with no dashboard opening
  B1      the same load while the educator's dashboard is opened every --interval seconds
  B2      the same load while --burst dashboards are opened at once (one burst)

Each phase opens fresh sockets, runs --seconds of publishing, and waits (bounded) for the late
messages and dashboards. Latency is receive time minus the send time carried in the message, the
first second of each phase left out as warm-up.

    .venv/bin/python bench/dashboard_open.py --database-url postgresql://postgres@127.0.0.1:5432/NAME \
        --redis-url redis://127.0.0.1:6379/N          # about 2 minutes
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import redis
import requests
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.config import normalize_database_url  # noqa: E402
from api.embedded_redis import free_port  # noqa: E402
from bench.common import bench_parser  # noqa: E402
from bench.dashboard_report import print_report, summarize  # noqa: E402
from bench.realtime import open_sockets, worker_process  # noqa: E402
from bench.school_seed import SECRET, School, seed_school  # noqa: E402

BIN = Path(sys.executable).parent
WARMUP = 1.0  # seconds at the start of a phase left out of the latency figures
LATE_GRACE = 5.0  # seconds to wait for messages still on their way once publishing and dashboards ended
SETTLE_LIMIT = 30.0  # seconds to wait for the web process to go idle between phases
WEB_LOG = "/tmp/learnpulse-bench-dashboard-web.log"


def publisher(redis_url: str, channels: list[str], per_second: float, seconds: float, ready, sent) -> None:
    """Separate process: publish {"t": send time} to every channel `per_second` times a second."""
    from services.publisher import publish

    client = redis.Redis.from_url(redis_url)
    ready.wait()
    tick, started, due, total = 0.02, time.time(), 0.0, 0
    while (now := time.time()) - started < seconds:
        due += per_second * len(channels) * tick
        count, due = int(due), due - int(due)
        offset = int((now - started) / tick) * count
        batch = [("activity", channels[(offset + i) % len(channels)], {"t": time.time()}) for i in range(count)]
        total += publish(client, batch)
        time.sleep(max(0.0, tick - (time.time() - now)))
    sent.value = total


async def receive_live(sockets: list, samples: list[tuple[float, float]], stop: asyncio.Event) -> None:
    """Record (send time, latency) of every live message until `stop`."""

    async def drain(ws) -> None:
        try:
            while True:
                raw = await ws.recv()
                received = time.time()
                message = json.loads(raw)
                if message["type"] == "activity" and "t" in message["data"]:
                    samples.append((message["data"]["t"], received - message["data"]["t"]))
        except websockets.ConnectionClosed:
            return

    tasks = [asyncio.create_task(drain(ws)) for ws in sockets]
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def open_dashboard(url: str, token: str, timeout: float) -> float | None:
    """Seconds from starting the handshake to dashboard_initial_data; None if it failed or took too long."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            async with websockets.connect(
                f"{url}/ws/dashboard/?token={token}", ping_interval=None, max_queue=None, open_timeout=timeout
            ) as ws:
                while True:
                    message = json.loads(await ws.recv())
                    if message["type"] == "dashboard_initial_data":
                        return time.perf_counter() - started
                    if message["type"] == "error":
                        print(f"      dashboard refused: {message}", flush=True)
                        return None
    except (TimeoutError, OSError, websockets.WebSocketException) as exc:
        print(f"      dashboard failed: {type(exc).__name__} {exc}", flush=True)
        return None


async def open_dashboards(url: str, token: str, offsets: list[float], timeout: float) -> list[float | None]:
    """Open one dashboard at each offset (seconds from now), without waiting for earlier ones."""
    started, tasks = time.perf_counter(), []
    for offset in sorted(offsets):
        await asyncio.sleep(max(0.0, started + offset - time.perf_counter()))
        tasks.append(asyncio.create_task(open_dashboard(url, token, timeout)))
    return list(await asyncio.gather(*tasks))


async def run_phase(url: str, school: School, args, offsets: list[float], worker: psutil.Process) -> dict:
    """Fresh sockets, --seconds of publishing and the scheduled dashboard opens; bounded waits after."""
    sockets = await open_sockets(url, school.learner_tokens[: args.clients], "/ws/activity/")
    active = sockets[: args.active]
    ready, sent = multiprocessing.Event(), multiprocessing.Value("q", -1)
    channels = [f"learner:{name}" for name in school.learners[: args.active]]
    proc = multiprocessing.Process(
        target=publisher, args=(args.redis_url, channels, args.rate, args.seconds, ready, sent)
    )
    proc.start()
    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()
    live = asyncio.create_task(receive_live(active, samples, stop))
    await asyncio.sleep(0.5)  # the drains are reading before the first message goes out
    cpu_before, started = sum(worker.cpu_times()[:2]), time.time()
    ready.set()
    dashboards = await open_dashboards(url, school.educator_token, offsets, args.dashboard_timeout)
    while proc.is_alive():
        await asyncio.sleep(0.1)
    grace = time.time() + LATE_GRACE
    while len(samples) < sent.value and time.time() < grace:
        await asyncio.sleep(0.1)
    stop.set()
    await live
    proc.join()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {
        "sent": sent.value,
        "received": len(samples),
        "latencies": [latency for t, latency in samples if t >= started + WARMUP],
        "dashboards": dashboards,
        "cpu_before": cpu_before,
        "wall": time.time() - started,
    }


async def settle(worker: psutil.Process, limit: float) -> float:
    """Wait until the web process is idle (dashboards the client gave up on are still computed by the
    server), at most `limit` seconds, so one phase's leftovers do not land in the next; returns the wait."""
    started = time.perf_counter()
    cpu = sum(worker.cpu_times()[:2])
    while time.perf_counter() - started < limit:
        await asyncio.sleep(0.5)
        now = sum(worker.cpu_times()[:2])
        if now - cpu < 0.05:
            break
        cpu = now
    return time.perf_counter() - started


async def alone(url: str, token: str, repeats: int, worker: psutil.Process) -> dict:
    """What one dashboard open costs with nothing else going on: time to initial data and web CPU."""
    cpu_before, times = sum(worker.cpu_times()[:2]), []
    for _ in range(repeats):
        times.append(await open_dashboard(url, token, 60.0))
        await asyncio.sleep(0.2)
    return {"dashboards": times, "web_cpu_per_open": (sum(worker.cpu_times()[:2]) - cpu_before) / repeats}


async def run(args, url: str, school: School, master_pid: int) -> dict:
    """The four measurements, in order."""
    worker = worker_process(master_pid)
    burst_at = WARMUP + 1.0
    phases = {
        "A": [],
        "B1": [WARMUP + i * args.interval for i in range(int((args.seconds - WARMUP) / args.interval))],
        "B2": [burst_at] * args.burst,
    }
    results = {}
    print(f"[3/6] one dashboard at a time, no other traffic ({args.alone} opens) ...", flush=True)
    results["alone"] = await alone(url, school.educator_token, args.alone, worker)
    for step, (name, offsets) in enumerate(phases.items(), start=4):
        print(
            f"[{step}/6] phase {name}: {len(offsets)} dashboard opens during {args.seconds:g} s of live load",
            flush=True,
        )
        results[name] = await run_phase(url, school, args, offsets, worker)
        results[name]["settle"] = await settle(worker, SETTLE_LIMIT)
        results[name]["web_cpu"] = sum(worker.cpu_times()[:2]) - results[name]["cpu_before"]
    return results


def start_web(database_url: str, redis_url: str) -> tuple[psutil.Popen, int]:
    """One gunicorn worker process with gevent, as in production; returns it once /health answers."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "1",
        "LOG_LEVEL": "WARNING",
    }
    log = open(WEB_LOG, "wb")  # noqa: SIM115  (the child writes to it until it is stopped)
    web = psutil.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.time() + 60
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code in (200, 503):
                return web, port
        except requests.RequestException:
            pass
        if time.time() > deadline or web.poll() is not None:
            web.terminate()
            raise SystemExit(f"the web process did not start (see {WEB_LOG})")
        time.sleep(0.2)


def parse_args():
    parser = bench_parser(__doc__, "test_bench", 8)
    parser.add_argument("--sections", type=int, default=5)
    parser.add_argument("--per-section", type=int, default=200, help="learners per section")
    parser.add_argument("--events", type=int, default=30, help="activities and assessments per learner")
    parser.add_argument("--clients", type=int, default=1000, help="learner sockets (at most sections x per-section)")
    parser.add_argument("--active", type=int, default=500, help="sockets that receive live messages")
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second per active socket")
    parser.add_argument("--seconds", type=float, default=15.0, help="publishing time per phase")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between dashboard opens in B1")
    parser.add_argument("--burst", type=int, default=20, help="dashboards opened at once in B2")
    parser.add_argument("--alone", type=int, default=5, help="dashboard opens measured with no other traffic")
    parser.add_argument("--dashboard-timeout", type=float, default=30.0, help="give up on one dashboard after this")
    args = parser.parse_args()
    if args.clients > args.sections * args.per_section or args.active > args.clients:
        parser.error("need active <= clients <= sections x per-section")
    return args


def main() -> None:
    args = parse_args()
    command = shlex.join([os.path.relpath(sys.executable, ROOT), *sys.argv])
    load_before, began = os.getloadavg(), datetime.now(UTC)
    database_url = normalize_database_url(args.database_url)
    print(f"[1/6] seeding: {args.sections} sections x {args.per_section} learners through the API ...", flush=True)
    school = seed_school(database_url, args.redis_url, args.sections, args.per_section, args.events)
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in school.timings.items())
    print(f"      {len(school.learners):,} learners, {school.events:,} events ({timings})", flush=True)
    print("[2/6] one gunicorn worker process (gevent)", flush=True)
    web, port = start_web(database_url, args.redis_url)
    try:
        results = asyncio.run(run(args, f"ws://127.0.0.1:{port}", school, web.pid))
    finally:
        web.terminate()
        try:
            web.wait(15)
        except psutil.TimeoutExpired:
            web.kill()
    print_report(args, summarize(results), command, began, load_before, os.getloadavg())


if __name__ == "__main__":
    main()
