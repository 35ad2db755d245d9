"""The roster read path: GET /sections/<id>/learners sorted by risk, against the floor of the same rows.

A synthetic platform in PostgreSQL (default 20 sections of 1,000 learners, each with a learner_standings
row as the worker writes it). Timed in one process with the Flask test client (JWT check, access rule,
ORM query, JSON) against the floor: the plain SQL of the same page through psycopg, no ORM or HTTP.
Cases: the first page of 100 by risk, a page deep in the keyset (cursor), the whole 1,000 in one page,
a filtered page (risk=red), and an admin's GET /learners over every learner of the platform.

Usage: .venv/bin/python bench/dashboard.py [--sections N] [--per-section N] [--runs N]
Needs local PostgreSQL and Redis; creates and drops its own database.
"""

from __future__ import annotations

import sys
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
from bench.common import bench_parser, fresh_database, percentile, sample_ms  # noqa: E402

SECRET = "bench-secret-" + "x" * 40
FLOOR_SQL = """
SELECT u.id, u.external_id, u.name, e.status, s.average, s.recent_average, s.trend_direction, s.engagement,
       s.attendance_percent, s.risk_level, s.risk_probability, s.open_alerts, s.open_alert_rules, s.metrics_at
FROM users u JOIN enrollments e ON e.learner_id = u.id
LEFT JOIN learner_standings s ON s.learner_id = u.id
WHERE e.section_id = %(section)s {extra}
ORDER BY s.risk_probability DESC NULLS LAST, u.id DESC LIMIT %(limit)s
"""
EVERYONE_SQL = """
SELECT u.id, u.external_id, u.name, u.role, u.email, u.active, u.created_at, s.average, s.recent_average,
       s.trend_direction, s.engagement, s.attendance_percent, s.risk_level, s.risk_probability, s.open_alerts,
       s.open_alert_rules, s.metrics_at
FROM users u LEFT JOIN learner_standings s ON s.learner_id = u.id
WHERE u.role = 'learner' AND %(section)s > 0
ORDER BY s.risk_probability DESC NULLS LAST, u.id DESC LIMIT %(limit)s
"""


def standing_rows(ids: list[int], now: datetime, rng: np.random.Generator) -> list[dict]:
    """learner_standings rows as the worker would write them; 5% without figures (grey, NULLs last)."""
    probability = rng.beta(2, 5, len(ids))
    graded = rng.random(len(ids)) > 0.05
    return [
        {
            "learner_id": learner,
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
        for i, learner in enumerate(ids)
    ]


def populate(app, sections: int, per_section: int, seed: int = 7) -> int:
    """Sections, learners, enrollments and standings rows; returns the benchmarked section's id."""
    from models import Enrollment, LearnerStanding, Section, User, db  # noqa: PLC0415

    n = sections * per_section
    with app.app_context():
        db.session.add_all(
            [User(external_id="teacher", role="educator", name="Teacher"), User(external_id="root", role="admin")]
        )
        db.session.commit()
        educator = db.session.scalar(sa.select(User.id).where(User.external_id == "teacher"))
        sections_rows = [
            {"external_id": f"s{k}", "name": f"Section {k}", "educator_id": educator} for k in range(sections)
        ]
        db.session.execute(sa.insert(Section), sections_rows)
        learners = [{"external_id": f"l{i:06d}", "role": "learner", "name": f"Learner {i}"} for i in range(n)]
        db.session.execute(sa.insert(User), learners)
        ids = list(db.session.scalars(sa.select(User.id).where(User.role == "learner").order_by(User.id)))
        section_ids = list(db.session.scalars(sa.select(Section.id).order_by(Section.id)))
        db.session.execute(
            sa.insert(Enrollment),
            [{"learner_id": ids[i], "section_id": section_ids[i // per_section], "status": "active"} for i in range(n)],
        )
        db.session.execute(
            sa.insert(LearnerStanding), standing_rows(ids, datetime.now(UTC), np.random.default_rng(seed))
        )
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        return section_ids[0]


def timed(call: Callable[[], object], runs: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds over `runs` calls (after 5 warm-up calls)."""
    samples = sample_ms(call, runs, warm_up=5)
    return percentile(samples, 50), percentile(samples, 95)


def cases(client, headers: dict[str, str], raw: psycopg.Connection) -> list[tuple[str, str, str, dict, str]]:
    """(name, API path, floor SQL, its parameters, who asks) per case; the deep one follows real cursors."""
    base = "/api/v1/sections/s0/learners?sort=risk_probability&order=desc"
    cursor = None
    for _ in range(5):  # the cursor of page 6 of 10
        page = client.get(base + "&limit=100" + (f"&cursor={cursor}" if cursor else ""), headers=headers).json
        cursor = page["next_cursor"]
    last = page["learners"][-1]
    last_id = raw.execute("SELECT id FROM users WHERE external_id = %s", (last["external_id"],)).fetchone()[0]
    after = "AND (s.risk_probability < %(v)s OR (s.risk_probability = %(v)s AND u.id < %(i)s) OR s.risk_probability IS NULL)"
    deep = {"limit": 100, "v": last["risk_probability"], "i": last_id}
    everyone = "/api/v1/learners?sort=risk_probability&order=desc&limit=100"
    red = FLOOR_SQL.format(extra="AND s.risk_level = 2")
    return [
        ("first page of 100", base + "&limit=100", FLOOR_SQL.format(extra=""), {"limit": 100}, "teacher"),
        ("page 6 of 10 (cursor)", base + f"&limit=100&cursor={cursor}", FLOOR_SQL.format(extra=after), deep, "teacher"),
        ("all 1,000 in one page", base + "&limit=1000", FLOOR_SQL.format(extra=""), {"limit": 1000}, "teacher"),
        ("risk=red, first 100", base + "&limit=100&risk=red", red, {"limit": 100}, "teacher"),
        ("all learners, first 100", everyone, EVERYONE_SQL, {"limit": 100}, "root"),
    ]


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
    app = create_app(
        {"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": args.redis_url, "EMBEDDED": False}
    )
    with app.app_context():
        upgrade()
    section = populate(app, args.sections, args.per_section)
    client = app.test_client()
    tokens = {
        who: issue_token(SECRET, who, role, 3600)[0] for who, role in (("teacher", "educator"), ("root", "admin"))
    }
    headers = {"Authorization": f"Bearer {tokens['teacher']}"}
    raw = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    print(f"{args.sections} sections x {args.per_section} learners; {args.runs} runs per case; times in ms")
    print(f"{'case':<24} {'API p50':>8} {'API p95':>8} {'SQL p50':>8} {'SQL p95':>8}")
    for name, path, sql, params, who in cases(client, headers, raw):
        auth = {"Authorization": f"Bearer {tokens[who]}"}
        api_p50, api_p95 = timed(lambda p=path, h=auth: client.get(p, headers=h).json["learners"], args.runs)
        sql_p50, sql_p95 = timed(
            lambda q=sql, v=params: raw.execute(q, {"section": section, **v}).fetchall(), args.runs
        )
        print(f"{name:<24} {api_p50:8.2f} {api_p95:8.2f} {sql_p50:8.2f} {sql_p95:8.2f}")
    raw.close()


if __name__ == "__main__":
    main()
