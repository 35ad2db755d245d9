"""What the event log's references cost PostgreSQL per stored batch: foreign keys against plain ids (migration 0021).

Copies of `events` (its columns, checks and indexes) are made with all six foreign keys (as before 0021), with
the learner's key only, and with none (as after 0021). Three connections at once COPY batches of 1,000 new
events into one copy at a time, the three variants alternated within each round, once with events that name no
course or module (as bench/ingest.py's) and once with events naming one of 20 modules and its course (as an
LMS's). Printed: PostgreSQL backend CPU per batch (/proc/PID/schedstat), median per variant over the rounds.

Usage: .venv/bin/python bench/event_keys.py [--rounds 3] [--batches 15]
"""

from __future__ import annotations

import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_parser, fresh_database  # noqa: E402

KEYS = {
    "six keys (before 0021)": ("learner_id", "course_id", "module_id", "section_id", "subject_id", "exam_id"),
    "the learner's key only": ("learner_id",),
    "no keys (0021)": (),
}
PARENTS = {"learner_id": "users", "course_id": "courses", "module_id": "modules", "section_id": "sections"}
PARENTS |= {"subject_id": "subjects", "exam_id": "exams"}
COLUMNS = ("client_id", "body_hash", "learner_id", "kind", "occurred_at", "received_at", "course_id", "module_id")
COLUMNS += ("score", "max_score", "skill")


def _prepare(url: str, redis_url: str) -> tuple[list[int], list[tuple[int, int]]]:
    """A migrated database with 2,000 learners and 20 modules in 2 courses, and one copy of `events` per variant."""
    from flask_migrate import upgrade

    from api import create_app
    from api.config import normalize_database_url

    fresh_database(normalize_database_url(url))  # SQLAlchemy's URL names the driver; psycopg's below does not
    config = {"SECRET_KEY": "bench-" + "k" * 40, "SQLALCHEMY_DATABASE_URI": normalize_database_url(url)}
    app = create_app({**config, "REDIS_URL": redis_url})
    with app.app_context():
        upgrade()
    with psycopg.connect(url) as connection:
        connection.execute(
            "INSERT INTO users (external_id, role, active, created_at, updated_at) "
            "SELECT 'l' || g, 'learner', true, now(), now() FROM generate_series(1, 2000) g"
        )
        connection.execute(
            "INSERT INTO courses (external_id, title, created_at, updated_at) VALUES ('c1', 'C', now(), now()), "
            "('c2', 'C', now(), now())"
        )
        connection.execute(
            "INSERT INTO modules (external_id, course_id, title, position, created_at, updated_at) "
            "SELECT 'm' || g, (SELECT min(id) FROM courses) + g % 2, 'M', g, now(), now() FROM generate_series(1, 20) g"
        )
        for number, keys in enumerate(KEYS.values()):
            connection.execute(f"CREATE TABLE events_{number} (LIKE events INCLUDING ALL)")
            for column in keys:
                connection.execute(
                    f"ALTER TABLE events_{number} ADD FOREIGN KEY ({column}) REFERENCES {PARENTS[column]}"
                )
        learners = [row[0] for row in connection.execute("SELECT id FROM users ORDER BY id")]
        modules = [(row[0], row[1]) for row in connection.execute("SELECT id, course_id FROM modules ORDER BY id")]
    return learners, modules


def _batch(tag: str, learners: list[int], modules: list[tuple[int, int]], named: bool) -> list[tuple]:
    """1,000 new assessments (COLUMNS' values), each naming a random module and its course when `named`."""
    now = datetime.now(UTC)
    rows = []
    for n in range(1000):
        module, course = random.choice(modules) if named else (None, None)
        learner, skill = random.choice(learners), f"skill-{n % 7}"
        rows.append((f"{tag}-{n}", "h" * 64, learner, "assessment", now, now, course, module, 5.0, 10.0, skill))
    return rows


def _backend_cpu_ms(connection: psycopg.Connection) -> float:
    with open(f"/proc/{connection.info.backend_pid}/schedstat") as stats:
        return int(stats.read().split()[0]) / 1e6


def _client(url: str, table: str, batches: list[list[tuple]], start: threading.Barrier, out: list[float]) -> None:
    with psycopg.connect(url) as connection:
        start.wait()
        for rows in batches:
            before = _backend_cpu_ms(connection)
            with connection.cursor().copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            connection.commit()
            out.append(_backend_cpu_ms(connection) - before)


def _round(
    url: str, table: str, learners: list[int], modules: list[tuple[int, int]], named: bool, count: int
) -> list[float]:
    """Three clients at once, `count` batches each; CPU ms per batch after each client's first two."""
    out: list[float] = []
    start = threading.Barrier(3)
    tag = f"{table}-{named}-{time.time_ns()}"
    work = [[_batch(f"{tag}-{c}-{b}", learners, modules, named) for b in range(count)] for c in range(3)]
    threads = [threading.Thread(target=_client, args=(url, table, batches, start, out)) for batches in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out[6:]


def main() -> None:
    parser = bench_parser(__doc__, "bench_event_keys", 0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=15)
    args = parser.parse_args()
    url = args.database_url
    learners, modules = _prepare(url, args.redis_url)
    results: dict[tuple[str, bool], list[float]] = {}
    for number in range(args.rounds):
        for named in (False, True):
            for index, name in enumerate(KEYS):
                spent = _round(url, f"events_{index}", learners, modules, named, args.batches)
                results.setdefault((name, named), []).extend(spent)
                print(
                    f"round {number + 1}, {'naming a module' if named else 'no module'}: {name} "
                    f"{statistics.median(spent):.1f} ms",
                    flush=True,
                )
    print("\n| events of the batch | " + " | ".join(KEYS) + " |")
    print("| --- |" + " --- |" * len(KEYS))
    for named in (False, True):
        cells = [f"{statistics.median(results[(name, named)]):.1f}" for name in KEYS]
        print(
            f"| {'each naming a module and its course' if named else 'naming no module'} | " + " | ".join(cells) + " |"
        )
    print("(PostgreSQL backend CPU ms per COPY of 1,000 new events, 3 connections at once, median)")


if __name__ == "__main__":
    main()
