"""The read paths of issue 15 against a real gunicorn, each beside its floor measured in the same run.

Data: a synthetic platform loaded through COPY (bench/platform_load.py, ~100 events per learner) so the
event log holds --events rows in total, plus a school through the REST API (bench/school_seed.py: one
educator, 5 sections x 200 learners, ~60 events each, registers) and one heavy learner with 10,000
events over 20 modules and 4 skills; then the worker's evaluation drain in-process (counters, rules,
standings, section state). The web tier as production runs it: `gunicorn -c gunicorn.conf.py` with WEB_CONCURRENCY
gevent worker processes (the Procfile's default, 2; --web-processes), and the same cases again with one gevent
worker (the figure earlier sessions recorded), so both are printed. The floors run one PostgreSQL backend per client.

Cases (HTTP, p50/p95/p99, one client and 8 concurrent clients) and their floors (the plain SQL of the
main read through psycopg, one connection per client, same concurrency; the ratio column is always against it):
  learner analytics, 10k events   / the packed read of the learner's events (services.analytics_data)
  learner analytics, typical      / the same read for a school learner (~60 events)
  events page of 100              / SELECT * FROM events WHERE learner_id = .. ORDER BY id DESC LIMIT 100
                                    and, in a last column, a second floor: the same query served by a bare
                                    endpoint of the same web process (bench/floor_app.py: same authentication,
                                    logging and JSON encoding; no object authorization, joins or ORM)
  section / course analytics      / the stored section state (section_summaries.members)
  section summary, educator overview (5 summaries one after another) / the summary rows
  dashboard_initial_data per role (WebSocket open to initial data) / the role's main read; opened with
                                    bench/ws_raw.py's lean client (--ws-client websockets: the library's)

--existing URL reads a database built elsewhere (e.g. bench_big) READ-ONLY: nothing is written to it
(the web process only reads, and the cases pick learners and sections that exist).

Usage: .venv/bin/python bench/reads.py --events 100000 [--database-url ...] [--redis-url ...]
       .venv/bin/python bench/reads.py --reuse [--web-processes 2,1] [--only "learner analytics,events page"]
"""

from __future__ import annotations

import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.config import normalize_database_url  # noqa: E402
from bench.common import bench_parser, fresh_database  # noqa: E402
from bench.read_clients import http_call, measure, sql_call, ws_call  # noqa: E402
from bench.read_database import HEAVY, ids, set_read_only  # noqa: E402
from bench.school_seed import SECRET, SERVICE, _catalog, _enroll, _ingest  # noqa: E402
from bench.web_process import start_web, stop_web  # noqa: E402

WEB_APP = "bench.floor_app:app"  # the application plus the events page's bare endpoint (second floor)

SECTIONS, PER_SECTION, PER_SCHOOL_LEARNER = 5, 200, 60
EVENTS_PAGE = "SELECT * FROM events WHERE learner_id = %(learner)s ORDER BY id DESC LIMIT 100"
MEMBERS = "SELECT members FROM section_summaries WHERE section_id = ANY(%(sections)s)"
SUMMARIES = "SELECT summary FROM section_summaries WHERE section_id = ANY(%(sections)s)"
ALERT_COUNTS = "SELECT status, count(*) FROM alerts GROUP BY status"
BARE_PAGE = "/bench/floor/learners"  # bench/floor_app.py: the page query alone behind the same HTTP stack


def _heavy_events(n: int, now: datetime) -> list[dict]:
    """A learner with n events over a year: activity, assessments (4 skills) and completions over 20 modules."""
    rng = np.random.default_rng(3)
    offsets = np.sort(rng.uniform(0.1, 365, n))[::-1]
    events = []
    for k, days in enumerate(offsets):
        base = {"id": f"{HEAVY}-{k}", "learner": HEAVY, "occurred_at": (now - timedelta(days=float(days))).isoformat(),
                "course": "bench-algebra", "module": f"bench-m{k % 20}"}  # fmt: skip
        if k % 50 == 0:
            events.append({**base, "kind": "module_completed"})
        elif k % 4 == 0:
            events.append({**base, "kind": "assessment", "score": float(rng.uniform(30, 100)), "max_score": 100,
                           "skill": ("fractions", "equations", "graphs", "ratios")[k // 4 % 4]})  # fmt: skip
        else:
            events.append({**base, "kind": "activity", "duration_seconds": 300})
    return events


def build(url: str, redis_url: str, total_events: int) -> None:
    """Fresh database: the bulk by COPY, the school and the heavy learner through the API, then evaluated."""
    import redis  # noqa: PLC0415
    from flask_migrate import upgrade  # noqa: PLC0415

    from api import create_app  # noqa: PLC0415
    from api.auth.tokens import issue_token  # noqa: PLC0415
    from bench.platform_load import load_platform  # noqa: PLC0415
    from models import User, db  # noqa: PLC0415

    fresh_database(url)
    redis.Redis.from_url(redis_url).flushdb()
    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url})
    with app.app_context():
        upgrade()
        db.session.add_all([User(external_id=SERVICE, role="service"), User(external_id="bench-admin", role="admin")])
        db.session.commit()
    school_events = SECTIONS * PER_SECTION * (PER_SCHOOL_LEARNER + 10) + 10_000
    bulk = max(0, total_events - school_events)
    started = time.perf_counter()
    if bulk:
        load_platform(url, bulk // 100, 100.0)
    print(f"  bulk: {bulk:,} events by COPY in {time.perf_counter() - started:.0f} s", flush=True)
    token = issue_token(SECRET, SERVICE, "service", 7200)[0]
    names = [f"bench-sec-{k + 1}" for k in range(SECTIONS)]
    roster = {f"bench-l{k}-{i}": names[k] for k in range(SECTIONS) for i in range(PER_SECTION)}
    started = time.perf_counter()
    with app.app_context():
        client = app.test_client()
        _catalog(client, token, names)
        for m in range(20):
            body = {"course": "bench-algebra", "title": f"M{m}", "position": m}
            client.put(f"/api/v1/modules/bench-m{m}", json=body, headers={"Authorization": f"Bearer {token}"})
        _ingest(client, token, roster, PER_SCHOOL_LEARNER)
        heavy = _heavy_events(10_000, datetime.now(UTC))
        for start in range(0, len(heavy), 5000):
            response = client.post(
                "/api/v1/events",
                json={"events": heavy[start : start + 5000]},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 201, response.get_data(as_text=True)[:300]
        _enroll({**roster, HEAVY: names[0]})
        from worker.tasks import evaluate_pending  # noqa: PLC0415

        evaluate_pending.run()
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        db.engine.dispose()
    print(f"  school through the API and evaluated in {time.perf_counter() - started:.0f} s", flush=True)


def cases(base: str, dsn: str, known: dict, ws_client: str = "raw") -> list[tuple]:
    """(name, API client factory, floor client factory); on an existing database only the reads that write
    nothing (the cohort reads would compute and store a section never summarised)."""
    from api.auth.tokens import issue_token  # noqa: PLC0415
    from services.analytics_data import PACKED_QUERY  # noqa: PLC0415

    def token(subject: str, role: str) -> str:
        return issue_token(SECRET, subject, role, 7200)[0]

    admin_role = known["service_role"]
    admin, educator = token(known["service"], admin_role), token("bench-educator", "educator")
    (typical_id, typical), n = known["typical"], known["typical_events"]
    learner = token(typical, "learner")
    typical_floor = lambda: sql_call(dsn, PACKED_QUERY, {"courses": None, "ids": [typical_id]})  # noqa: E731
    read_only = [
        (
            f"learner analytics, typical ({n} events)",
            lambda: http_call(base, [f"/api/v1/learners/{typical}/analytics"], admin),
            typical_floor,
        ),
        (
            f"events page of 100 (typical, {n} events)",
            lambda: http_call(base, [f"/api/v1/learners/{typical}/events?limit=100"], admin),
            lambda: sql_call(dsn, EVENTS_PAGE, {"learner": typical_id}),
            lambda: http_call(base, [f"{BARE_PAGE}/{typical_id}/events"], admin),
        ),
        ("dashboard_initial_data, learner", lambda: ws_call(base, learner, ws_client), typical_floor),
        (
            f"dashboard_initial_data, {admin_role}",
            lambda: ws_call(base, admin, ws_client),
            lambda: sql_call(dsn, ALERT_COUNTS, {}),
        ),
    ]
    return read_only + (_school_cases(base, dsn, known, admin, educator, ws_client) if "heavy" in known else [])


def _school_cases(base: str, dsn: str, known: dict, admin: str, educator: str, ws_client: str) -> list[tuple]:
    """The cases that need the school this script builds: the heavy learner and the section and course reads."""
    from services.analytics_data import PACKED_QUERY  # noqa: PLC0415

    summaries = [f"/api/v1/sections/bench-sec-{k + 1}/summary" for k in range(SECTIONS)]
    return [
        ("learner analytics, 10k events", lambda: http_call(base, [f"/api/v1/learners/{HEAVY}/analytics"], admin),
         lambda: sql_call(dsn, PACKED_QUERY, {"courses": None, "ids": [known["heavy"]]})),
        ("events page of 100 (10k-event learner)", lambda: http_call(base, [f"/api/v1/learners/{HEAVY}/events?limit=100"], admin),
         lambda: sql_call(dsn, EVENTS_PAGE, {"learner": known["heavy"]}),
         lambda: http_call(base, [f"{BARE_PAGE}/{known['heavy']}/events"], admin)),
        ("section analytics (200 learners)", lambda: http_call(base, ["/api/v1/sections/bench-sec-1/analytics"], educator),
         lambda: sql_call(dsn, MEMBERS, {"sections": known["sections"][:1]})),
        ("course analytics (5 sections, 1,000 learners)", lambda: http_call(base, ["/api/v1/courses/bench-algebra/analytics"], educator),
         lambda: sql_call(dsn, MEMBERS, {"sections": known["sections"]})),
        ("section summary", lambda: http_call(base, summaries[:1], educator),
         lambda: sql_call(dsn, SUMMARIES, {"sections": known["sections"][:1]})),
        ("educator overview (5 summaries in turn)", lambda: http_call(base, summaries, educator),
         lambda: sql_call(dsn, SUMMARIES, {"sections": known["sections"]})),
        ("dashboard_initial_data, educator", lambda: ws_call(base, educator, ws_client),
         lambda: sql_call(dsn, SUMMARIES, {"sections": known["sections"]})),
    ]  # fmt: skip


def presence_checked(url: str, redis_url: str) -> dict[str, Any]:
    """The beat's presence check (every 5 min in production: services.presence_rebuild), once before timing,
    so the educator's live_now probes the learners active lately as in a deployment that has run a while."""
    from api import create_app  # noqa: PLC0415
    from services.presence_rebuild import check_presence  # noqa: PLC0415

    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url})
    with app.app_context():
        return check_presence()


def main() -> None:
    parser = bench_parser(__doc__, "bench_reads", 2)
    parser.set_defaults(redis_url="redis://127.0.0.1:6395/2")
    parser.add_argument("--events", type=int, default=100_000, help="event rows to build (ignored with --existing)")
    parser.add_argument("--existing", action="store_true", help="read the database as it is (read-only)")
    parser.add_argument("--reuse", action="store_true", help="measure a database this script built before")
    parser.add_argument("--build-only", action="store_true", help="build the database and stop")
    parser.add_argument("--runs", type=int, default=100, help="calls per case (split across the 8 clients)")
    production = os.environ.get("WEB_CONCURRENCY", "2")
    parser.add_argument("--web-processes", default=f"{production},1", help="gevent worker counts to measure, in turn")
    parser.add_argument("--only", default="", help="comma-separated substrings: measure only the cases named so")
    parser.add_argument(
        "--ws-client",
        choices=("raw", "websockets"),
        default="raw",
        help="the dashboard opens' client: bench/ws_raw.py's lean one, or the websockets library's (~2 ms of CPU "
        "more per open, taken from the two cores the server runs on; what sessions before the eleventh used)",
    )
    args = parser.parse_args()
    args.database_url = normalize_database_url(args.database_url)
    if not (args.existing or args.reuse):
        build(args.database_url, args.redis_url, args.events)
    if args.build_only:
        return
    dsn = make_url(args.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    known = ids(dsn, args.existing)
    print(f"presence check: {presence_checked(args.database_url, args.redis_url)}", flush=True)
    print(f"load average before: {os.getloadavg()}; event rows (estimate): {known['events']:,}", flush=True)
    if args.existing:
        set_read_only()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so that `finally` stops the web process
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    rows = []
    for processes in [int(p) for p in args.web_processes.split(",")]:
        log = f"/tmp/bench_reads_web_{processes}.log"
        web, port = start_web(args.database_url, args.redis_url, SECRET, log, processes, app=WEB_APP)
        try:
            for name, api, floor, *bare in cases(f"http://127.0.0.1:{port}", dsn, known, args.ws_client):
                if not wanted or any(w in name for w in wanted):
                    rows += measure(f"{name} [{processes} web]", api, floor, args.runs, web.children(), *bare)
        finally:
            stop_web(web)
    print(f"load average after: {os.getloadavg()}")
    print(
        "\n| read | clients | API p50 / p95 / p99 ms | floor p50 / p95 / p99 ms | p95 ratio | web CPU ms/call "
        "| client CPU ms/call | bare endpoint p50 / p95 / p99 ms (API p95 ratio) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
