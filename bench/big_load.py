"""A large synthetic platform in PostgreSQL (default 1,000,000 learners, ~50,000,000 events) through binary COPY.

Reusable: any --database-url; the database is created if missing and refused if it already has
events (pass --fresh to drop it first). Learners come in chunks (bounded memory), each with a
section of its course, events carrying course, module, section and (assessments) a skill. The
events' secondary indexes (and the other tables' foreign-key triggers) are off during COPY and rebuilt at the end
(one sort each instead of 50M index insertions), then ANALYZE and VACUUM (the visibility map
makes index-only scans possible). --ready-file is touched once everything is loaded and indexed.
--client-ids gives every event a unique random client id, as an LMS's events carry: without it the column is NULL
and the unique index on it stays out of the way of later inserts, which a production log's would not.

Usage: .venv/bin/python bench/big_load.py [--database-url URL] [--learners N] [--events-per-learner K]
       [--fresh] [--client-ids] [--ready-file PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.learner_metrics import KIND_CODES  # noqa: E402
from analytics.synthetic import generate_cohort  # noqa: E402
from api.config import normalize_database_url  # noqa: E402
from bench.platform_load import PG_EPOCH, binary_copy  # noqa: E402
from models.events import CLIENT_KEY, CLIENT_KEY_INDEX  # noqa: E402

SKILLS = tuple(f"skill-{i}" for i in range(12))
SECONDARY_INDEXES = {
    "ix_events_learner_occurred": "CREATE INDEX ix_events_learner_occurred ON events (learner_id, occurred_at)",
    "ix_events_learner_id": "CREATE INDEX ix_events_learner_id ON events (learner_id, id)",
}
CLIENT_ID_KEY = f"CREATE UNIQUE INDEX {CLIENT_KEY_INDEX} ON events ({CLIENT_KEY})"  # as migration 0022 builds it
HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
SECRET = "bench-secret-" + "x" * 40


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_database(url: str, fresh: bool) -> None:
    """Create the database (dropped first with --fresh); the schema comes from the migrations."""
    url = normalize_database_url(url)
    name = make_url(url).database
    admin = sa.create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if fresh:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        exists = connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            connection.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    from flask_migrate import upgrade  # noqa: PLC0415

    from api import create_app  # noqa: PLC0415

    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": "redis://127.0.0.1:1/0"})
    with app.app_context():
        upgrade()


def _copy_rows(connection: psycopg.Connection, table: str, columns: list[str], rows) -> None:
    with connection.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load_catalog(connection: psycopg.Connection, args: argparse.Namespace) -> dict[str, int]:
    """Service user, educators, learners, courses, modules, sections and one enrollment per learner."""
    now = datetime.now(UTC)
    n_sections = -(-args.learners // args.section_size)
    first_educator, first_learner = _load_users(connection, args.learners, n_sections, now)
    first_course, first_module = _load_courses(connection, args.courses, args.modules_per_course, now)
    first_section = _load_sections(connection, args, n_sections, now, first_course, first_educator, first_learner)
    return {"learner": first_learner, "course": first_course, "module": first_module, "section": first_section}


def _load_users(connection: psycopg.Connection, learners: int, n_sections: int, now: datetime) -> tuple[int, int]:
    """The service user, one educator per section and the learners; (first educator id, first learner id)."""
    _copy_rows(
        connection,
        "users",
        ["external_id", "role", "active", "created_at", "updated_at"],
        [("bench-lms", "service", True, now, now)],
    )
    _copy_rows(
        connection,
        "users",
        ["external_id", "role", "name", "active", "created_at", "updated_at"],
        ((f"t{j}", "educator", f"Educator {j}", True, now, now) for j in range(n_sections)),
    )
    first_educator = connection.execute("SELECT min(id) FROM users WHERE role = 'educator'").fetchone()[0]
    _copy_rows(
        connection,
        "users",
        ["external_id", "role", "name", "active", "created_at", "updated_at"],
        ((f"b{i}", "learner", f"Learner {i:07d}", True, now, now) for i in range(learners)),
    )
    first_learner = connection.execute("SELECT min(id) FROM users WHERE role = 'learner'").fetchone()[0]
    return first_educator, first_learner


def _load_courses(connection: psycopg.Connection, courses: int, modules: int, now: datetime) -> tuple[int, int]:
    """The courses and their modules; (first course id, first module id)."""
    _copy_rows(
        connection,
        "courses",
        ["external_id", "title", "created_at", "updated_at"],
        ((f"c{c}", f"Course {c}", now, now) for c in range(courses)),
    )
    first_course = connection.execute("SELECT min(id) FROM courses").fetchone()[0]
    _copy_rows(
        connection,
        "modules",
        ["external_id", "course_id", "title", "position", "created_at", "updated_at"],
        ((f"c{c}-m{m}", first_course + c, f"Module {m}", m, now, now) for c in range(courses) for m in range(modules)),
    )
    return first_course, connection.execute("SELECT min(id) FROM modules").fetchone()[0]


def _load_sections(
    connection: psycopg.Connection,
    args: argparse.Namespace,
    n_sections: int,
    now: datetime,
    first_course: int,
    first_educator: int,
    first_learner: int,
) -> int:
    """Sections (one educator each, courses in turn) and each learner's enrollment; the first section id."""
    _copy_rows(
        connection,
        "sections",
        ["external_id", "name", "course_id", "educator_id", "created_at", "updated_at"],
        (
            (f"s{k}", f"Section {k}", first_course + k % args.courses, first_educator + k, now, now)
            for k in range(n_sections)
        ),
    )
    first_section = connection.execute("SELECT min(id) FROM sections").fetchone()[0]
    _copy_rows(
        connection,
        "enrollments",
        ["learner_id", "section_id", "status", "enrolled_at", "created_at", "updated_at"],
        (
            (first_learner + i, first_section + i // args.section_size, "active", now, now, now)
            for i in range(args.learners)
        ),
    )
    return first_section


def _copy_kind(connection: psycopg.Connection, kind: str, skill: str | None, columns: list[tuple[str, tuple]]) -> None:
    """COPY one kind's events: kind (and skill) come from column defaults, the rest from numpy."""
    skill_default = f"'{skill}'" if skill else "NULL"
    connection.execute(
        f"ALTER TABLE events ALTER COLUMN kind SET DEFAULT '{kind}', ALTER COLUMN skill SET DEFAULT {skill_default}"
    )
    binary_copy(connection, "events", [c for c, _ in columns], [a for _, a in columns])


def client_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random 32-hex-digit ids (as uuid4().hex gives them), the client ids an LMS sends with its events."""
    raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    digits = HEX_DIGITS[np.stack([raw >> 4, raw & 15], axis=-1).reshape(n, 32)]
    return np.ascontiguousarray(digits).view("S32").ravel()


def load_chunk(
    connection: psycopg.Connection, args: argparse.Namespace, first: dict[str, int], start: int, size: int, now: float
) -> int:
    """One chunk of learners' events; returns how many."""
    cohort = generate_cohort(size, args.events_per_learner, seed=1000 + start // args.chunk, now=now)
    e = cohort.events
    rng = np.random.default_rng(start)
    learner = e.learner + start
    section = learner // args.section_size
    course = section % args.courses
    module = first["module"] + course * args.modules_per_course + rng.integers(0, args.modules_per_course, len(learner))
    micros = ((e.time - PG_EPOCH) * 1e6).astype(np.int64)
    skill_of = rng.integers(0, len(SKILLS), len(learner))
    for name in ("activity", "module_completed", "assessment"):
        pick = e.kind == KIND_CODES[name]
        base = [
            ("learner_id", (">i4", learner[pick] + first["learner"])),
            ("occurred_at", (">i8", micros[pick])),
            ("course_id", (">i4", course[pick] + first["course"])),
            ("module_id", (">i4", module[pick])),
            ("section_id", (">i4", section[pick] + first["section"])),
        ]
        if args.client_ids:
            base.append(("client_id", ("S32", client_ids(rng, int(pick.sum())))))
        if name == "activity":
            duration = rng.gamma(2.0, 150.0, int(pick.sum()))
            _copy_kind(connection, name, None, [*base, ("duration_seconds", (">f8", duration))])
        elif name == "module_completed":
            _copy_kind(connection, name, None, base)
        else:
            for s, skill in enumerate(SKILLS):
                sub = skill_of[pick] == s
                cols = [(c, (t, a[sub])) for c, (t, a) in base]
                cols += [("score", (">f8", e.percent[pick][sub])), ("max_score", (">f8", np.full(sub.sum(), 100.0)))]
                _copy_kind(connection, name, skill, cols)
    return len(learner)


def _without_indexes(connection: psycopg.Connection) -> None:
    for name in SECONDARY_INDEXES:
        connection.execute(f"DROP INDEX IF EXISTS {name}")
    connection.execute(f"DROP INDEX IF EXISTS {CLIENT_KEY_INDEX}")


def _rebuild(connection: psycopg.Connection) -> None:
    connection.execute("SET maintenance_work_mem = '1GB'")
    for statement in (*SECONDARY_INDEXES.values(), CLIENT_ID_KEY):
        connection.execute(statement)
    connection.execute(
        "ALTER TABLE events ALTER COLUMN kind DROP DEFAULT, ALTER COLUMN skill DROP DEFAULT, "
        "ALTER COLUMN body_hash DROP DEFAULT, ALTER COLUMN received_at DROP DEFAULT"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/bench_big")
    parser.add_argument("--learners", type=int, default=1_000_000)
    parser.add_argument("--events-per-learner", type=float, default=50.0)
    parser.add_argument("--chunk", type=int, default=100_000, help="learners generated and copied at a time")
    parser.add_argument("--courses", type=int, default=40)
    parser.add_argument("--modules-per-course", type=int, default=12)
    parser.add_argument("--section-size", type=int, default=200)
    parser.add_argument("--fresh", action="store_true", help="drop the database first")
    parser.add_argument(
        "--client-ids", action="store_true", help="every event carries a unique client id (as LMS events do)"
    )
    parser.add_argument("--ready-file", help="touched when the load is complete")
    args = parser.parse_args()
    started = time.perf_counter()
    ensure_database(args.database_url, args.fresh)
    with psycopg.connect(_dsn(args.database_url), autocommit=True) as connection:
        if connection.execute("SELECT EXISTS (SELECT 1 FROM events)").fetchone()[0]:
            raise SystemExit("the database already holds events: pass --fresh to reload it")
        connection.execute("SET session_replication_role = replica")  # no per-row FK triggers: ids are consistent
        connection.execute("SET synchronous_commit = off")
        first = load_catalog(connection, args)
        print(f"catalog loaded in {time.perf_counter() - started:.0f} s", flush=True)
        _without_indexes(connection)
        connection.execute(
            "ALTER TABLE events ALTER COLUMN body_hash SET DEFAULT '', ALTER COLUMN received_at SET DEFAULT now()"
        )
        total, now = 0, time.time()
        for start in range(0, args.learners, args.chunk):
            size = min(args.chunk, args.learners - start)
            total += load_chunk(connection, args, first, start, size, now)
            print(
                f"  {start + size:,} learners, {total:,} events, {time.perf_counter() - started:.0f} s",
                flush=True,
            )
        _rebuild(connection)
        print(f"indexes rebuilt at {time.perf_counter() - started:.0f} s", flush=True)
        connection.execute("VACUUM (ANALYZE) events")
        connection.execute("ANALYZE")
        size = connection.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    print(f"{args.learners:,} learners, {total:,} events loaded in {time.perf_counter() - started:.0f} s ({size})")
    if args.ready_file:
        Path(args.ready_file).touch()


if __name__ == "__main__":
    main()
