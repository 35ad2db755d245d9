"""The roster read path: GET /sections/<id>/learners sorted by risk, against the floor of the same rows.

A synthetic platform in PostgreSQL (default 20 sections of 1,000 learners, each with a learner_standings
row as the worker writes it). Timed in one process with the Flask test client (JWT check, access rule,
ORM query, JSON) against the floor: the plain SQL of the same page through psycopg, no ORM or HTTP.
Cases: the first page of 100 by risk, a page deep in the keyset (cursor), the whole 1,000 in one page,
and a filtered page (risk=red).

Usage: .venv/bin/python bench/dashboard.py [--sections N] [--per-section N] [--runs N]
Needs local PostgreSQL and Redis; creates and drops its own database.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.config import normalize_database_url  # noqa: E402
from bench.common import bench_parser, fresh_database, percentile  # noqa: E402

SECRET = "bench-secret-" + "x" * 40
FLOOR_SQL = """
SELECT u.id, u.external_id, u.name, e.status, s.average, s.recent_average, s.trend_direction, s.engagement,
       s.attendance_percent, s.risk_level, s.risk_probability, s.open_alerts, s.open_alert_rules, s.metrics_at
FROM users u JOIN enrollments e ON e.learner_id = u.id
LEFT JOIN learner_standings s ON s.learner_id = u.id
WHERE e.section_id = %(section)s {extra}
ORDER BY s.risk_probability DESC NULLS LAST, u.id DESC LIMIT %(limit)s
"""


def populate(app, sections: int, per_section: int, seed: int = 7) -> int:
    """Sections, learners, enrollments and standings rows; returns the benchmarked section's id."""
    from models import Enrollment, LearnerStanding, Section, User, db  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    with app.app_context():
        db.session.add(User(external_id="teacher", role="educator", name="Teacher"))
        db.session.commit()
        educator = db.session.scalar(sa.select(User.id).where(User.external_id == "teacher"))
        db.session.execute(
            sa.insert(Section),
            [{"external_id": f"s{k}", "name": f"Section {k}", "educator_id": educator} for k in range(sections)],
        )
        n = sections * per_section
        db.session.execute(
            sa.insert(User), [{"external_id": f"l{i:06d}", "role": "learner", "name": f"Learner {i}"} for i in range(n)]
        )
        ids = list(db.session.scalars(sa.select(User.id).where(User.role == "learner").order_by(User.id)))
        section_ids = list(db.session.scalars(sa.select(Section.id).order_by(Section.id)))
        db.session.execute(
            sa.insert(Enrollment),
            [{"learner_id": ids[i], "section_id": section_ids[i // per_section], "status": "active"} for i in range(n)],
        )
        probability = rng.beta(2, 5, n)
        graded = rng.random(n) > 0.05  # some learners without data: grey, NULLs sorted last
        db.session.execute(
            sa.insert(LearnerStanding),
            [
                {
                    "learner_id": ids[i],
                    "average": round(float(rng.normal(70, 12)), 2) if graded[i] else None,
                    "recent_average": round(float(rng.normal(70, 14)), 2) if graded[i] else None,
                    "trend_direction": int(rng.integers(-1, 2)) if graded[i] else None,
                    "engagement": round(float(rng.uniform(0, 100)), 1),
                    "attendance_percent": round(float(rng.uniform(60, 100)), 1),
                    "risk_level": int(np.searchsorted((0.3, 0.6), probability[i], side="right")) if graded[i] else None,
                    "risk_probability": round(float(probability[i]), 4) if graded[i] else None,
                    "open_alerts": int(rng.poisson(0.4)),
                    "open_alert_rules": "",
                    "metrics_at": now,
                    "updated_at": now,
                }
                for i in range(n)
            ],
        )
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        return section_ids[0]


def timed(call: Callable[[], object], runs: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds over `runs` calls (after 5 warm-up calls)."""
    for _ in range(5):
        call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return percentile(samples, 50), percentile(samples, 95)


def main() -> None:
    parser = bench_parser(__doc__, "bench_dashboard", 4)
    parser.add_argument("--sections", type=int, default=20)
    parser.add_argument("--per-section", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    from flask_migrate import upgrade  # noqa: PLC0415

    from api import create_app  # noqa: PLC0415
    from api.auth.tokens import issue_token  # noqa: PLC0415

    url = fresh_database(normalize_database_url(args.database_url))
    config = {"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": args.redis_url, "EMBEDDED": False}
    app = create_app(config)
    with app.app_context():
        upgrade()
    section = populate(app, args.sections, args.per_section)
    token, _ = issue_token(SECRET, "teacher", "educator", 3600)
    client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
    base = "/api/v1/sections/s0/learners?sort=risk_probability&order=desc"
    deep_cursor = None
    with app.app_context():
        for _ in range(5):  # the cursor of page 6 of 10
            page = client.get(base + "&limit=100" + (f"&cursor={deep_cursor}" if deep_cursor else ""), headers=headers)
            deep_cursor = page.json["next_cursor"]
    raw = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    deep_value = page.json["learners"][-1]["risk_probability"]
    deep_id = raw.execute("SELECT id FROM users WHERE external_id = %s", (page.json["learners"][-1]["external_id"],))
    deep_id = deep_id.fetchone()[0]
    deep_sql = "AND (s.risk_probability < %(v)s OR (s.risk_probability = %(v)s AND u.id < %(i)s) OR s.risk_probability IS NULL)"
    cases = [
        ("first page of 100", base + "&limit=100", FLOOR_SQL.format(extra=""), {"limit": 100}),
        (
            "page 6 of 10 (cursor)",
            base + f"&limit=100&cursor={deep_cursor}",
            FLOOR_SQL.format(extra=deep_sql),
            {"limit": 100, "v": deep_value, "i": deep_id},
        ),
        ("all 1,000 in one page", base + "&limit=1000", FLOOR_SQL.format(extra=""), {"limit": 1000}),
        (
            "risk=red, first 100",
            base + "&limit=100&risk=red",
            FLOOR_SQL.format(extra="AND s.risk_level = 2"),
            {"limit": 100},
        ),
    ]
    print(f"{args.sections} sections x {args.per_section} learners; {args.runs} runs per case; times in ms")
    print(f"{'case':<24} {'API p50':>8} {'API p95':>8} {'SQL p50':>8} {'SQL p95':>8}")
    for name, path, sql, params in cases:

        def api_call(path: str = path) -> None:
            response = client.get(path, headers=headers)
            assert response.status_code == 200, response.json

        def sql_call(sql: str = sql, params: dict = params) -> None:
            raw.execute(sql, {"section": section, **params}).fetchall()

        api_p50, api_p95 = timed(api_call, args.runs)
        sql_p50, sql_p95 = timed(sql_call, args.runs)
        print(f"{name:<24} {api_p50:8.2f} {api_p95:8.2f} {sql_p50:8.2f} {sql_p95:8.2f}")
    raw.close()
    with app.app_context():
        from models import db  # noqa: PLC0415

        db.engine.dispose()


if __name__ == "__main__":
    main()
