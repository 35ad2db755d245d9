"""CPU of one user's dashboard_initial_data (any role; --frame: and its frame's text), in this process and in its
PostgreSQL backend, for two trees alternated.

Each round runs, per tree, a child process (that tree's code, gevent patched with the web process's hub waits as
under gunicorn's gevent workers) that opens the learner's initial data `--calls` times as a socket open does (no
transaction, session removed after each) and prints its own CPU per call and its database backend's (read from
/proc: the database must run on this machine). Trees alternate round by round so drift on a shared machine hits
both alike; the medians over rounds are printed.

    .venv/bin/python bench/learner_open_cpu.py --database-url postgresql://postgres@127.0.0.1:5432/reads_db \\
        --redis-url redis://127.0.0.1:6392/2 --trees /tmp/base,/work/wt-me [--learner bench-l0-7] [--rounds 6]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path


def _backend_cpu(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _frame_writer():
    """How the tree's socket writes the initial data's frame: spliced from kept JSON where the tree can, else
    services.envelope.control (trees before the splice)."""
    from services.envelope import control

    try:
        from services.envelope import control_text
        from services.json_text import spliced_dumps
    except ImportError:
        return lambda data: control("dashboard_initial_data", data)
    return lambda data: control_text("dashboard_initial_data", spliced_dumps(data))


def _time_opens(learner: str, calls: int, frame: bool = False) -> dict:
    """In an app context: warm up, then `calls` opens of the learner's initial data as a socket open does them
    (with `frame`, its frame's text too)."""
    import time

    import sqlalchemy as sa

    from api.auth.guard import Principal
    from api.realtime.initial_data import dashboard_initial_data
    from models import User, db
    from models.queries import read_without_transaction

    row = db.session.execute(sa.select(User.id, User.external_id, User.role).where(User.external_id == learner)).one()
    principal = Principal(*row)
    backend = db.session.connection().connection.driver_connection.info.backend_pid
    db.session.remove()

    write = _frame_writer() if frame else lambda data: None

    def one() -> None:
        read_without_transaction()
        write(dashboard_initial_data(principal, "s"))
        db.session.remove()

    for _ in range(30):  # warm: statements prepared, caches filled
        one()
    web, database = time.process_time(), _backend_cpu(backend)
    for _ in range(calls):
        one()
    return {
        "web_ms": (time.process_time() - web) * 1000 / calls,
        "db_ms": (_backend_cpu(backend) - database) * 1000 / calls,
    }


def child(database_url: str, redis_url: str, learner: str, calls: int, frame: bool) -> None:
    """Run in the tree's own directory (gevent patched first, as the web process): print the figures as JSON."""
    from gevent import monkey

    monkey.patch_all()
    import gevent

    sys.path.insert(0, os.getcwd())
    from api import create_app
    from api.config import normalize_database_url
    from api.pg_hub_wait import use_hub_waits

    use_hub_waits()
    app = create_app(
        {
            "SECRET_KEY": "learner-open-cpu-" + "x" * 16,
            "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
            "REDIS_URL": redis_url,
        }
    )
    out: dict = {}

    def run() -> None:
        with app.app_context():
            out.update(_time_opens(learner, calls, frame))

    gevent.spawn(run).join()
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--trees", required=True, help="comma-separated tree directories, e.g. base,new")
    parser.add_argument("--learner", default="bench-l0-7")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--frame", action="store_true", help="also write the frame's text as the tree's socket does")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.database_url, args.redis_url, args.learner, args.calls, args.frame)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's bench package
    from bench.common import alternate_trees  # noqa: PLC0415

    trees = args.trees.split(",")
    child_args = ["--database-url", args.database_url, "--redis-url", args.redis_url, "--learner", args.learner]
    child_args += ["--calls", str(args.calls), *(["--frame"] if args.frame else [])]
    figures = alternate_trees(trees, args.rounds, str(Path(__file__).resolve()), child_args)
    for tree in trees:
        web = [f["web_ms"] for f in figures[tree]]
        database = [f["db_ms"] for f in figures[tree]]
        print(
            f"{tree}: web CPU per open {statistics.median(web):.2f} ms (rounds {min(web):.2f}-{max(web):.2f}), "
            f"database backend {statistics.median(database):.2f} ms ({min(database):.2f}-{max(database):.2f})"
        )


if __name__ == "__main__":
    main()
