"""CPU of an educator's `live_now` (services.sessions), presence-narrowed against probing every enrolled learner.

In one process, on a database built by `bench/reads.py --build-only` (its educator's 5 sections of 200 learners):
`--live N` first posts, through the API, a fresh activity event for N of the educator's learners (so N are in a
session; a write to the bench database), the beat's presence check runs once, then rounds alternate the two forms, `--calls` calls each, and print per
call the wall time, this process's CPU and its PostgreSQL backend's CPU (from /proc; the database must be local),
then the medians over rounds. The probe form is what live_now does whenever the set is not trusted.

    .venv/bin/python bench/live_now_cpu.py --database-url postgresql://postgres@127.0.0.1:5432/reads_db \\
        --redis-url redis://127.0.0.1:6392/2 [--rounds 6] [--calls 200] [--live 50]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_parser  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def _backend_cpu(pid: int) -> float:
    """utime + stime of a local PostgreSQL backend, seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _timed(calls: int, sections: list[int], backend: int) -> tuple[float, float, float, int]:
    """Wall, own CPU and backend CPU per call in ms, and the live learners of the last call."""
    from services.sessions import live_now  # noqa: PLC0415

    wall, cpu, pg = time.perf_counter(), time.process_time(), _backend_cpu(backend)
    for _ in range(calls):
        rows = live_now(sections, 30)
    per = 1000.0 / calls
    return (
        (time.perf_counter() - wall) * per,
        (time.process_time() - cpu) * per,
        (_backend_cpu(backend) - pg) * per,
        len(rows),
    )


def _post_live(app: Any, count: int) -> None:
    """A fresh activity event for `count` of the school's learners (bench/school_seed.py), through the API."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from api.auth.tokens import issue_token  # noqa: PLC0415
    from bench.school_seed import SECRET, SERVICE  # noqa: PLC0415

    now = datetime.now(UTC).isoformat()
    events = [{"learner": f"bench-l{k % 5}-{k // 5}", "kind": "activity", "occurred_at": now} for k in range(count)]
    token = issue_token(SECRET, SERVICE, "service", 600)[0]
    response = app.test_client().post(
        "/api/v1/events", json={"events": events}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.get_data(as_text=True)[:300]


def main() -> None:
    parser = bench_parser(__doc__, "bench_reads", 2)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--live", type=int, default=0, help="learners to put in a session first (a write)")
    args = parser.parse_args()
    from bench.school_seed import SECRET  # noqa: PLC0415

    os.environ.update(SECRET_KEY=SECRET, DATABASE_URL=args.database_url, REDIS_URL=args.redis_url)
    import sqlalchemy as sa  # noqa: PLC0415

    import services.sessions as sessions  # noqa: PLC0415
    from api import create_app  # noqa: PLC0415
    from models import Section, User, db  # noqa: PLC0415
    from services.presence_rebuild import check_presence  # noqa: PLC0415

    app = create_app()
    with app.app_context():
        if args.live:
            _post_live(app, args.live)
        print(f"presence check: {check_presence()}; load average {os.getloadavg()}", flush=True)
        educator = sa.select(User.id).where(User.external_id == "bench-educator").scalar_subquery()
        sections = list(db.session.scalars(sa.select(Section.id).where(Section.educator_id == educator)))
        backend = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        narrowed = sessions._present
        forms: dict[str, Any] = {"presence": narrowed, "probe every learner": lambda now, reach: None}
        results: dict[str, list[tuple[float, float, float, int]]] = {name: [] for name in forms}
        _timed(20, sections, backend)  # warm the statement caches
        for _ in range(args.rounds):
            for name, present in forms.items():
                sessions._present = present
                results[name].append(_timed(args.calls, sections, backend))
        sessions._present = narrowed
    print("\n| form | wall ms/call | web CPU ms/call | PostgreSQL CPU ms/call | live learners |")
    print("| --- | --- | --- | --- | --- |")
    for name, rows in results.items():
        medians = [statistics.median(row[k] for row in rows) for k in range(3)]
        print(f"| {name} | {medians[0]:.2f} | {medians[1]:.2f} | {medians[2]:.2f} | {rows[-1][3]} |")


if __name__ == "__main__":
    main()
