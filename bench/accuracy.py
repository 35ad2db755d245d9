"""Are the alerts and forecasts right? Planted learners of known behaviour, through the real stack.

A seeded cohort (bench/archetypes.py: steady, noisy flat, high achievers, decliners, drifters from a
high level, disengaged, stagnating, inconsistent, newcomers; --per-archetype of each) is posted to a
real gunicorn through POST /events; a real Celery worker evaluates it and runs the performance and
engagement sweeps; the open alerts and each learner's GET /learners/<id>/analytics are read back
through the API and scored against the truth: per rule precision / recall / F1 and the flat learners'
false alarm share, the risk model's ROC AUC, Brier score and calibration (on the cohort), then the
completion (80%) and score (90%) interval coverage per archetype and over every planted learner, each
with n, its 95% Wilson CI and a verdict against "within +-5 points", and the completion median error
of learners with 3+ weeks of history against its 7 days. A coverage checks a +-5 target only on
hundreds of forecasts, so the forecast archetypes (steady, noisy flat, high achievers, decliners) are
planted --forecast-per-archetype times each (the cohort's plus extras from their own random stream,
posted in the same course); the flat false alarm table also counts every flat learner posted. The
same generator then runs through analytics/ directly on --sample-per-archetype learners of each
archetype (bench/coverage_sample.py, seconds of CPU).

Usage: .venv/bin/python bench/accuracy.py [--per-archetype N] [--forecast-per-archetype M] [--seed S]
       [--sample-per-archetype K]
Needs local PostgreSQL and Redis; drops and creates its own database.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.config import normalize_database_url  # noqa: E402
from bench.archetypes import MODULES, make_cohort, make_forecast_extras  # noqa: E402
from bench.common import bench_parser, fresh_database  # noqa: E402
from bench.coverage_sample import report as sample_report  # noqa: E402
from bench.forecast_checks import forecast_table  # noqa: E402
from bench.monitoring import run_sweep, start, wait_for  # noqa: E402
from bench.scoring import flat_alarm_table, risk_table, rule_table  # noqa: E402

SECRET = "bench-secret-" + "y" * 40
BIN = Path(sys.executable).parent
HORIZON = 14
TOKEN_SECONDS = 6 * 3600  # a niced run on a loaded machine outlived a 1-hour token (401 while reading, seed 1)


def post_cohort(url: str, headers: dict, learners, now: datetime) -> int:
    """Course, modules and every learner's events (a learner's events always in one batch)."""
    session = requests.Session()
    session.put(f"{url}/api/v1/courses/acc-c1", json={"title": "Accuracy"}, headers=headers).raise_for_status()
    for m in range(MODULES):
        body = {"course": "acc-c1", "title": f"M{m}"}
        session.put(f"{url}/api/v1/modules/acc-m{m}", json=body, headers=headers).raise_for_status()
    batch: list[dict] = []
    posted = 0

    def flush():
        nonlocal batch, posted
        if batch:
            response = session.post(f"{url}/api/v1/events", json={"events": batch}, headers=headers, timeout=600)
            assert response.status_code == 201, response.text[:500]
            posted += len(batch)
            batch = []

    for learner in learners:
        for event in learner.events:
            row = {k: v for k, v in event.items() if k != "days_ago"}
            row["occurred_at"] = (now - timedelta(days=event["days_ago"])).isoformat()
            batch.append(row)
        if len(batch) > 1500:
            flush()
    flush()
    return posted


def read_alerts(url: str, headers: dict) -> dict[str, set[str]]:
    """learner -> rules of their unresolved alerts, paging through the admin's list."""
    found: dict[str, set[str]] = {}
    before = None
    while True:
        query = "?limit=200" + (f"&before={before}" if before else "")
        response = requests.get(f"{url}/api/v1/progress/performance-alerts/{query}", headers=headers, timeout=60)
        assert response.ok, f"{response.status_code} {response.text[:300]}"
        page = response.json()
        for alert in page["alerts"]:
            if alert["status"] != "resolved":
                found.setdefault(alert["learner"], set()).add(alert["rule"])
        before = page.get("next_before")
        if not before:
            return found


def read_reports(url: str, headers: dict, learners) -> dict[str, dict]:
    """Every learner's analytics, a few requests at a time (the web process has two workers)."""

    def read(name: str) -> tuple[str, dict]:
        response = requests.get(
            f"{url}/api/v1/learners/{name}/analytics?horizon={HORIZON}", headers=headers, timeout=300
        )
        assert response.ok, f"{response.status_code} {response.text[:300]}"
        return name, response.json()

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(read, [learner.name for learner in learners]))


def start_stack(url: str, redis_url: str):
    """A Celery worker (2 processes) and gunicorn on a free port; returns both and the base URL."""
    from api.embedded_redis import free_port

    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "SECRET_KEY": SECRET}
    env["RATE_LIMIT_READS"] = "100000 per minute"  # the bench reads every learner's analytics at once
    worker = start(
        "worker",
        [str(BIN / "celery"), "-A", "worker.main:celery_app", "worker", "--concurrency=2", "-l", "WARNING"],
        env,
    )
    port = free_port()
    web = start(
        "web", [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"], {**env, "PORT": str(port), "HOST": "127.0.0.1"}
    )
    return web, worker, f"http://127.0.0.1:{port}"


def print_report(cohort, extras, alerts, reports, args) -> None:
    """Rules and risk on the balanced cohort; flat false alarms and forecasts on every learner posted."""
    print(f"\n{len(cohort)} learners ({args.per_archetype} per archetype), seed {args.seed}\n")
    print("\n".join(rule_table(cohort, alerts) + [""] + risk_table(cohort, reports)) + "\n")
    everyone = cohort + extras
    print(f"every learner posted ({len(extras)} forecast extras included): flat learners flagged at the end\n")
    print("\n".join(flat_alarm_table(everyone, alerts)) + "\n")
    print(f"forecasts: up to {args.forecast_per_archetype} planted learners per archetype\n")
    print("\n".join(forecast_table(everyone, reports, date.today(), HORIZON)) + "\n")


def parse_args():
    parser = bench_parser(__doc__, "learnpulse_bench_accuracy", 11)
    parser.add_argument("--per-archetype", type=int, default=40, help="the balanced cohort the rules are scored on")
    parser.add_argument(
        "--forecast-per-archetype",
        type=int,
        default=700,
        help="planted learners per forecast archetype (steady, noisy flat, high achievers, decliners): the "
        "cohort's plus extras, posted with it; 700 give an 80%% coverage a 95%% CI of +-3 points, a 90%% one +-2.2",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample-per-archetype", type=int, default=2000, help="0: no analytics-only sample")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    url = normalize_database_url(args.database_url)
    fresh_database(url)
    redis.Redis.from_url(args.redis_url).flushdb()
    from flask_migrate import upgrade

    from api import create_app
    from api.auth.tokens import issue_token
    from models import User, db

    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": args.redis_url})
    with app.app_context():
        upgrade()
        db.session.add_all([User(external_id="acc-lms", role="service"), User(external_id="acc-admin", role="admin")])
        db.session.commit()
    web, worker, base = start_stack(url, args.redis_url)
    try:
        wait_for(lambda: requests.get(f"{base}/health", timeout=2).ok, 600, "the web server")  # slow when niced
        service = {"Authorization": f"Bearer {issue_token(SECRET, 'acc-lms', 'service', TOKEN_SECONDS)[0]}"}
        admin = {"Authorization": f"Bearer {issue_token(SECRET, 'acc-admin', 'admin', TOKEN_SECONDS)[0]}"}
        now = datetime.now(UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)  # the bench's course keeps UTC days
        cohort = make_cohort(args.per_archetype, args.seed, HORIZON, (now - midnight) / timedelta(days=1))
        extras = make_forecast_extras(args.per_archetype, args.forecast_per_archetype, args.seed, HORIZON)
        learners = cohort + extras
        started = time.perf_counter()
        posted = post_cohort(base, service, learners, now)
        print(f"posted {posted:,} events for {len(learners)} learners in {time.perf_counter() - started:.0f} s")
        broker = redis.Redis.from_url(args.redis_url)
        wait_for(lambda: broker.llen("celery") == 0, 1800, "the event-driven evaluations to drain")
        time.sleep(5)  # the last ones taken off the queue finish before the sweeps
        with app.app_context():
            for sweep in ("performance", "engagement"):
                status = run_sweep(app, sweep)
                print(f"{sweep} sweep: {status['learners']} learners, {status['alerts_created']} alerts raised")
        alerts = read_alerts(base, admin)
        reports = read_reports(base, admin, learners)
    finally:
        for process in (web, worker):
            os.killpg(process.pid, 15)
            process.wait()
    print_report(cohort, extras, alerts, reports, args)
    if args.sample_per_archetype:
        print(f"analytics only, same generator: {args.sample_per_archetype} learners per archetype, seed {args.seed}\n")
        print("\n".join(sample_report(args.sample_per_archetype, args.seed, HORIZON)) + "\n")


if __name__ == "__main__":
    main()
