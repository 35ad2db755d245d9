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

Each phase has a fresh web process (warmed by one dashboard open) and fresh sockets, publishes for
--seconds and then waits at most --late seconds for late messages and dashboards: what has not
arrived by then counts as undelivered (shown as "> late"). Latency is receive time minus the send
time carried in the message; the first second of each phase is left out as warm-up. The measuring
process only measures: the dashboards are opened from a second client process, and its own garbage
collector is paused for the phase (a full collection over 1,000 sockets and the samples took 0.1-0.3 s,
and before this was counted as the web process's latency).

    .venv/bin/python bench/dashboard_open.py      # about 3 minutes; drops and creates its database,
                                                  # flushes its Redis database (--database-url, --redis-url)
    .venv/bin/python bench/dashboard_open.py --elsewhere   # the dashboards open on a second web process:
                                                  # what is left is the machine's share
    .venv/bin/python bench/dashboard_open.py --elsewhere --elsewhere-nice 19|idle [--nice-backends]
                                                  # that second process (a dashboards tier, LIVE_SOCKET_URL)
                                                  # and its client at a lower CPU priority (and its database
                                                  # backends: root only)
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.config import normalize_database_url  # noqa: E402
from bench.common import bench_parser  # noqa: E402
from bench.dashboard_opener import open_dashboard, opened_elsewhere  # noqa: E402
from bench.dashboard_report import print_report, summarize  # noqa: E402
from bench.live_sockets import open_sockets, receive_live  # noqa: E402
from bench.realtime import worker_process  # noqa: E402
from bench.school_seed import SECRET, School, seed_school  # noqa: E402
from bench.web_process import start_web, stop_web  # noqa: E402

BEGAN = time.perf_counter()
WARMUP = 1.0  # seconds at the start of a phase left out of the latency figures
WEB_LOG = "/tmp/learnpulse-bench-dashboard-web.log"


def publisher(redis_url: str, channels: list[str], per_second: float, seconds: float, ready, sent) -> None:
    """Separate process: publish {"t": send time} to every channel `per_second` times a second. The
    count follows the clock, so a publisher delayed by a busy machine catches up instead of sending less."""
    from services.publisher import publish

    client = redis.Redis.from_url(redis_url)
    ready.wait()
    tick, started, queued, total = 0.02, time.time(), 0, 0
    while (now := time.time()) - started < seconds:
        due = int(per_second * len(channels) * (now - started))
        batch = [("activity", channels[i % len(channels)], {"t": time.time()}) for i in range(queued, due)]
        queued = due
        total += publish(client, batch)
        time.sleep(max(0.0, tick - (time.time() - now)))
    sent.value = total


async def run_phase(url: str, sockets: list, school: School, args, offsets: list[float], worker) -> dict:
    """--seconds of publishing with the scheduled dashboard opens, then up to --late seconds for late
    messages and dashboards; what has not arrived by then is counted as undelivered."""
    ready, sent = multiprocessing.Event(), multiprocessing.Value("q", -1)
    channels = [f"learner:{name}" for name in school.learners[: args.active]]
    proc = multiprocessing.Process(
        target=publisher, args=(args.redis_url, channels, args.rate, args.seconds, ready, sent)
    )
    proc.start()
    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()
    live = asyncio.create_task(receive_live(sockets[: args.active], samples, stop))
    await asyncio.sleep(0.5)  # the drains are reading before the first message goes out
    client = psutil.Process()
    gc.collect()
    gc.disable()  # a full collection here (1,000 sockets, the samples) pauses 0.1-0.3 s: it was counted as latency
    cpu_before, client_before, started = sum(worker.cpu_times()[:2]), sum(client.cpu_times()[:2]), time.time()
    ready.set()
    deadline = started + args.seconds + args.late
    niceness = args.elsewhere_nice if args.elsewhere else 0
    opening = opened_elsewhere(url, school.educator_token, offsets, deadline, niceness)
    dashboards = asyncio.create_task(opening)
    while proc.is_alive() or not (dashboards.done() and len(samples) >= sent.value):
        if time.time() > deadline:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await live
    gc.enable()
    proc.join()
    result = {
        "sent": sent.value,
        "received": len(samples),
        "latencies": [latency for t, latency in samples if t >= started + WARMUP],
        "dashboards": await dashboards,
        "web_cpu": sum(worker.cpu_times()[:2]) - cpu_before,
        "client_cpu": sum(client.cpu_times()[:2]) - client_before,
        "wall": time.time() - started,
    }
    return result


async def alone(url: str, token: str, repeats: int, worker: psutil.Process) -> dict:
    """What one dashboard open costs with nothing else going on: time to initial data and web CPU."""
    cpu_before, times = sum(worker.cpu_times()[:2]), []
    for _ in range(repeats):
        times.append(await open_dashboard(url, token, time.time() + 60.0))
        await asyncio.sleep(0.2)
    return {"dashboards": times, "web_cpu_per_open": (sum(worker.cpu_times()[:2]) - cpu_before) / repeats}


def step(number: int, text: str) -> None:
    """A progress line with the time since the benchmark started."""
    print(f"[{number}/5] {time.perf_counter() - BEGAN:5.0f} s  {text}", flush=True)


async def learner_sockets(url: str, school: School, clients: int) -> list:
    """The learners' /ws/activity/ sockets, each subscribed to its own channel."""
    opening = time.perf_counter()
    sockets = await open_sockets(url, school.learner_tokens[:clients], "/ws/activity/")
    print(f"         {len(sockets):,} sockets open in {time.perf_counter() - opening:.1f} s", flush=True)
    return sockets


async def _measured_phase(url: str, sockets: list, school: School, args, offsets: list[float], worker) -> dict:
    """One phase; with --elsewhere the dashboards open on a second web process (and from a second client
    process), so what they still cost the live sockets is the machine's, not their own process's loop."""
    if not args.elsewhere or not offsets:
        return await run_phase(url, sockets, school, args, offsets, worker)
    web2, port2 = start_web(
        normalize_database_url(args.database_url),
        args.redis_url,
        SECRET,
        WEB_LOG + ".2",
        app="bench.niced_app:app" if args.nice_backends else None,
        niceness=args.elsewhere_nice,
    )
    try:
        await open_dashboard(f"ws://127.0.0.1:{port2}", school.educator_token, time.time() + 60.0)  # warm-up
        return await run_phase(f"ws://127.0.0.1:{port2}", sockets, school, args, offsets, worker)
    finally:
        stop_web(web2)


async def stop_all(web: psutil.Popen | None, sockets: list) -> None:
    """The web process first: a stalled server would hold every client close for its timeout."""
    if web is not None:
        stop_web(web)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


async def run(args, school: School) -> dict:
    """The measurements in order. B1 and B2 each get a fresh web process, so work a phase left behind
    (dashboards the client stopped waiting for are still computed) cannot stall the next one; A reuses
    the process of the lone opens, which leave it idle (each is awaited)."""
    phases = {
        "A": [],
        "B1": [WARMUP + i * args.interval for i in range(int((args.seconds - WARMUP) / args.interval))],
        "B2": [WARMUP + 1.0] * args.burst,
    }
    results: dict = {}
    web, sockets = None, []
    try:
        for number, name in enumerate(["alone", *phases], start=2):
            if name != "A":
                await stop_all(web, sockets)
                web, sockets = None, []
                web, port = start_web(normalize_database_url(args.database_url), args.redis_url, SECRET, WEB_LOG)
                url, worker = f"ws://127.0.0.1:{port}", worker_process(web.pid)
            if name == "alone":
                step(number, f"a fresh web process; one dashboard at a time, no other traffic ({args.alone} opens)")
                results[name] = await alone(url, school.educator_token, args.alone, worker)
                continue
            if name != "A":
                await open_dashboard(url, school.educator_token, time.time() + 60.0)  # imports, caches: not timed
            step(number, f"phase {name}: {len(phases[name])} dashboard opens in {args.seconds:g} s of live load")
            sockets = await learner_sockets(url, school, args.clients)
            results[name] = await _measured_phase(url, sockets, school, args, phases[name], worker)
    finally:
        await stop_all(web, sockets)
    return results


def parse_args():
    parser = bench_parser(__doc__, "learnpulse_bench_dashboard", 12)  # Redis db 12: as bench/realtime.py
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
    parser.add_argument(
        "--elsewhere", action="store_true", help="open the dashboards on a second web process from a second client"
    )
    parser.add_argument(
        "--elsewhere-nice",
        type=lambda value: value if value == "idle" else int(value),
        default=0,
        help="with --elsewhere: the CPU priority of the dashboards' web process and of the opening client, a nice "
        'value or "idle" (SCHED_IDLE): a lower-priority dashboards tier on the same machine (LIVE_SOCKET_URL)',
    )
    parser.add_argument(
        "--nice-backends",
        action="store_true",
        help="with --elsewhere-nice: the dashboards' PostgreSQL backends take the same priority (bench/niced_app.py; "
        "root only; what a database on its own host gives in production)",
    )
    parser.add_argument("--late", type=float, default=10.0, help="seconds after publishing to wait for late arrivals")
    args = parser.parse_args()
    if args.clients > args.sections * args.per_section or args.active > args.clients:
        parser.error("need active <= clients <= sections x per-section")
    return args


def main() -> None:
    args = parse_args()
    command = shlex.join([os.path.relpath(sys.executable, ROOT), *sys.argv])
    load_before, began = os.getloadavg(), datetime.now(UTC)
    database_url = normalize_database_url(args.database_url)
    step(1, f"seeding: {args.sections} sections x {args.per_section} learners through the API")
    school = seed_school(database_url, args.redis_url, args.sections, args.per_section, args.events)
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in school.timings.items())
    print(f"         {len(school.learners):,} learners, {school.events:,} events ({timings})", flush=True)
    results = asyncio.run(run(args, school))
    print_report(args, summarize(results), command, began, load_before, os.getloadavg())


if __name__ == "__main__":
    main()
