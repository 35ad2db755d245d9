"""Monitoring at scale, through the real stack.

(a) Full sweeps over a synthetic platform (default 100,000 learners, ~10,000,000 events) stored in
    PostgreSQL: a Celery worker (2 processes) runs the performance and engagement sweeps from the
    database through alerts persisted; reported end to end (sent -> last shard done).
(b) POST-to-alert latency: gunicorn and the worker running, background events posted at a
    sustained rate, and "tipping" events (two failing scores for a learner in good standing) whose
    alert is timed from the POST to its arrival on the learner's Redis channel (p50, p99).

Usage: .venv/bin/python bench/monitoring.py [--learners N] [--rate EVENTS_PER_S] [--seconds S]
Needs local PostgreSQL and Redis; creates and drops its own database.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import redis
import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.synthetic import PROFILES  # noqa: E402
from api.config import normalize_database_url  # noqa: E402
from api.embedded_redis import free_port  # noqa: E402
from bench.common import bench_parser, fresh_database, percentile  # noqa: E402
from bench.platform_load import load_platform  # noqa: E402

SECRET = "bench-secret-" + "x" * 40
BIN = Path(sys.executable).parent


def start(name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def wait_for(check, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (requests.RequestException, OSError):
            pass
        time.sleep(interval)
    raise SystemExit(f"timed out waiting for {what}")


def run_sweep(app, sweep: str) -> dict[str, str]:
    """Send a sweep as beat would and wait for its last shard; returns its status."""
    from services.sweeps import STATUS_KEY

    client = app.extensions["redis"]
    # A run per window is the production rule; the benchmark runs twice in one window on purpose.
    client.delete(
        STATUS_KEY.format(sweep),
        *client.keys(f"learnpulse:lock:sweep:{sweep}:*"),
        *client.keys(f"learnpulse:done:shard:{sweep}:*"),
    )
    started = time.perf_counter()
    app.extensions["celery"].send_task("learnpulse.monitoring.sweep", args=[sweep])

    def finished():
        status = {k.decode(): v.decode() for k, v in client.hgetall(STATUS_KEY.format(sweep)).items()}
        return status if status.get("finished_at") else None

    status = wait_for(finished, 900, f"the {sweep} sweep", interval=0.01)  # sub-second sweeps are timed too
    status["end_to_end_seconds"] = round(time.perf_counter() - started, 2)
    return status


def _listen(pubsub, stop: threading.Event, arrived: dict[str, float]) -> None:
    """Note when each learner's performance_decline alert arrives."""
    while not stop.is_set():
        message = pubsub.get_message(timeout=0.2)
        if message and message["type"] == "pmessage":
            envelope = json.loads(message["data"])
            if envelope["type"] == "alert" and envelope["data"].get("rule") == "performance_decline":
                arrived.setdefault(envelope["data"]["learner"], time.perf_counter())


def _background(
    url: str, headers: dict, others: list[str], rate: float, stop: threading.Event, sent: list[int]
) -> None:
    """Steady load: batches of 50 activity events at `rate` events/s."""
    session, rng, interval = requests.Session(), np.random.default_rng(1), 50 / rate
    next_at = time.perf_counter()
    while not stop.is_set():
        sent[0] += 50
        now = datetime.now(UTC).isoformat()
        events = [
            {"id": uuid.uuid4().hex, "learner": others[i], "kind": "activity", "occurred_at": now}
            for i in rng.integers(0, len(others), 50)
        ]
        session.post(f"{url}/api/v1/events", json={"events": events}, headers=headers, timeout=30)
        next_at += interval
        time.sleep(max(0.0, next_at - time.perf_counter()))


def _tip(url: str, headers: dict, tipping: list[str], seconds: float, sent: dict[str, float]) -> int:
    """Post two failing scores per learner, one learner every 0.2 s; returns how many were posted."""
    session, started, posted = requests.Session(), time.perf_counter(), 0
    for learner in tipping:
        if time.perf_counter() - started > seconds:
            break
        now = datetime.now(UTC)
        events = [
            {
                "learner": learner,
                "kind": "assessment",
                "occurred_at": (now - timedelta(seconds=s)).isoformat(),
                "score": 5,
                "max_score": 100,
            }
            for s in (2, 1)
        ]
        sent[learner] = time.perf_counter()
        session.post(f"{url}/api/v1/events", json={"events": events}, headers=headers, timeout=30)
        posted += 1
        time.sleep(0.2)
    return posted


def latency_run(app, url: str, token: str, tipping: list[str], others: list[str], rate: float, seconds: float) -> dict:
    """Background load at `rate` events/s in batches of 50; one tipping POST per 0.2 s; alert arrival timed."""
    from services.channels import learner_channel, watch

    headers = {"Authorization": f"Bearer {token}"}
    sent: dict[str, float] = {}
    arrived: dict[str, float] = {}
    stop = threading.Event()
    watch(redis.Redis.from_url(app.config["REDIS_URL"]), [learner_channel(n) for n in tipping])  # as a dashboard would
    pubsub = redis.Redis.from_url(app.config["REDIS_URL"]).pubsub()
    pubsub.psubscribe("learnpulse:channel:learner:*")
    background_events = [0]
    listener = threading.Thread(target=_listen, args=(pubsub, stop, arrived))
    loader = threading.Thread(target=_background, args=(url, headers, others, rate, stop, background_events))
    load_started = time.perf_counter()
    listener.start(), loader.start()
    time.sleep(2)  # reach steady load first
    posted = _tip(url, headers, tipping, seconds, sent)
    time.sleep(5)
    stop.set()
    listener.join(), loader.join()
    achieved = background_events[0] / (time.perf_counter() - load_started)
    latencies = [1000 * (arrived[l] - sent[l]) for l in sent if l in arrived]
    return {
        "tipped": posted,
        "alerts": len(latencies),
        "achieved_rate": achieved,
        "p50_ms": percentile(latencies, 50) if latencies else None,
        "p99_ms": percentile(latencies, 99) if latencies else None,
    }


def _arguments() -> argparse.Namespace:
    parser = bench_parser(__doc__, "learnpulse_bench_monitoring", 13)
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--events-per-learner", type=float, default=100.0)
    parser.add_argument("--rate", type=float, default=500.0, help="background events per second during (b)")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of the tipping phase of (b)")
    parser.add_argument(
        "--watch-admin",
        action="store_true",
        help="mark the admin channel watched (an admin dashboard open): every alert is then streamed "
        "and published on it; by default nobody watches and publishing is a lookup",
    )
    return parser.parse_args()


def _prepare(args: argparse.Namespace, url: str):
    """Fresh database with the schema, a service user and the synthetic platform loaded through COPY."""
    print(
        f"[1/4] fresh database, migrations, {args.learners:,} learners x ~{args.events_per_learner:g} events",
        flush=True,
    )
    fresh_database(url)
    redis.Redis.from_url(args.redis_url).flushdb()
    from flask_migrate import upgrade

    from api import create_app
    from models import User, db

    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": args.redis_url})
    with app.app_context():
        upgrade()
        db.session.add(User(external_id="bench-lms", role="service"))
        db.session.commit()
    started = time.perf_counter()
    profile, n_events = load_platform(url, args.learners, args.events_per_learner)
    print(f"      loaded {n_events:,} events in {time.perf_counter() - started:.0f} s", flush=True)
    return app, profile, n_events


def _tipping_learners(profile: np.ndarray) -> tuple[list[str], list[str]]:
    """Steady learners without a decline alert yet (to tip over), and others for background load."""
    from models import Alert, User, db

    steady = [f"b{i}" for i in np.flatnonzero(profile == PROFILES.index("steady"))]
    flagged = set(
        db.session.scalars(
            sa.select(User.external_id)
            .join(Alert, Alert.learner_id == User.id)
            .where(Alert.rule == "performance_decline")
        )
    )
    return [l for l in steady if l not in flagged][:1000], steady[-20000:]


def _measure(app, args: argparse.Namespace, port: int, profile: np.ndarray) -> tuple[dict, int]:
    """Sweeps (first and repeat) through the worker, then POST-to-alert latency under load."""
    from api.auth.tokens import issue_token
    from models import Alert, db

    results = {}
    with app.app_context():
        if args.watch_admin:
            from services.channels import ADMIN_CHANNEL, watch

            watch(app.extensions["redis"], [ADMIN_CHANNEL])
        for step, sweep in ((2, "performance"), (3, "engagement")):
            print(f"[{step}/4] {sweep} sweep through the worker: first run, then a repeat ...", flush=True)
            results[sweep] = run_sweep(app, sweep)
            results[f"{sweep} repeat"] = run_sweep(app, sweep)
        alerts = db.session.scalar(sa.select(sa.func.count()).select_from(Alert))
        tipping, others = _tipping_learners(profile)
        token = issue_token(SECRET, "bench-lms", "service", 3600)[0]
        wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok, 60, "the web server")
        print(
            f"[4/4] POST-to-alert latency at {args.rate:g} background events/s for {args.seconds:g} s ...", flush=True
        )
        results["latency"] = latency_run(
            app, f"http://127.0.0.1:{port}", token, tipping, others, args.rate, args.seconds
        )
    return results, alerts


def _report(args: argparse.Namespace, n_events: int, results: dict, alerts: int) -> None:
    print("\n| measure | figure |\n| --- | --- |")
    print(f"| learners / events | {args.learners:,} / {n_events:,} |")
    for sweep in ("performance", "performance repeat", "engagement", "engagement repeat"):
        status = results[sweep]
        print(
            f"| {sweep} sweep, end to end | {status['end_to_end_seconds']} s ({status['shards']} shards, "
            f"{status['learners']} learners, {status['alerts_created']} alerts raised, "
            f"{status['alerts_resolved']} resolved) |"
        )
    print(f"| alerts stored after both sweeps | {alerts:,} |")
    latency = results["latency"]
    print(
        f"| POST-to-alert latency, background ingest {latency['achieved_rate']:.0f} events/s (asked {args.rate:g}) | "
        f"p50 {latency['p50_ms']:.0f} ms, p99 {latency['p99_ms']:.0f} ms "
        f"({latency['alerts']} of {latency['tipped']} tipping POSTs alerted) |"
    )


def main() -> None:
    args = _arguments()
    url = normalize_database_url(args.database_url)
    app, profile, n_events = _prepare(args, url)
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis_url, "SECRET_KEY": SECRET}
    worker = start(
        "worker",
        [str(BIN / "celery"), "-A", "worker.main:celery_app", "worker", "--concurrency=2", "--loglevel=WARNING"],
        env,
    )
    port = free_port()
    web = start(
        "web", [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"], {**env, "PORT": str(port), "HOST": "127.0.0.1"}
    )
    try:
        results, alerts = _measure(app, args, port, profile)
    finally:
        for process in (web, worker):
            os.killpg(process.pid, 15)
            process.wait()
    _report(args, n_events, results, alerts)


if __name__ == "__main__":
    main()
