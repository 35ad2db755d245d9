"""Web-process CPU per 1,000-event batch, in process: this tree against another (the base), alternated in one run.

Each round starts one child process per tree (order alternating), which imports that tree's code, builds the
app on PostgreSQL and Redis, and times with process CPU (time.process_time):
  * `post`: the whole POST /api/v1/events through Flask's test client (auth, rate limit, JSON decoding,
    validation, look-ups, COPY, mastery, commit, live publishing): the web process's work but gunicorn's;
  * `validate`: api.events.ingest.validate_events over the decoded batch;
  * `public`: api.events.ingest.public_event over the validated events.
Medians per tree over every round's batches. Both trees write to one database (fresh ids every batch).

Usage: .venv/bin/python bench/batch_cpu.py --base /tmp/batchcpu_base [--rounds 6] [--batches 15]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "y" * 40


def _child(tree: str, database_url: str, redis_url: str, batches: int, size: int) -> None:
    """Time `batches` batches with the code of `tree`; prints one JSON line of per-batch CPU ms lists."""
    sys.path.insert(0, tree)
    sys.path.insert(1, str(ROOT))  # bench.ingest's event mix (the same module in both trees)
    from api import create_app
    from api.auth.tokens import issue_token
    from api.events.ingest import public_event, validate_events
    from bench.ingest import event

    app = create_app(
        {"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url},
    )
    headers = {"Authorization": f"Bearer {issue_token(SECRET, 'bench-lms', 'service', 3600)[0]}"}
    client = app.test_client()
    bodies = [
        json.dumps({"events": [event((b * size + n) % 2000, n) for n in range(size)]}) for b in range(batches + 2)
    ]
    timings: dict[str, list[float]] = {"post": [], "validate": [], "public": []}
    for number, body in enumerate(bodies):
        started = time.process_time()
        response = client.post("/api/v1/events", data=body, headers=headers, content_type="application/json")
        spent = time.process_time() - started
        if response.status_code != 201:
            raise SystemExit(f"{tree}: {response.status_code} {response.get_data(as_text=True)[:300]}")
        raw = json.loads(body)["events"]
        started = time.process_time()
        events = validate_events(raw, "events", timedelta(seconds=300))
        validated = time.process_time() - started
        started = time.process_time()
        for pk, clean in enumerate(events):
            public_event(clean, pk)
        published = time.process_time() - started
        if number >= 2:  # two warm-up batches: psycopg prepares its statements after a few runs
            for name, seconds in (("post", spent), ("validate", validated), ("public", published)):
                timings[name].append(1000 * seconds)
    print(json.dumps(timings))


def _prepare(database_url: str, redis_url: str) -> None:
    """Fresh database, migrated; the service user and the 2,000 learners the batches name."""
    import redis
    from flask_migrate import upgrade

    from api import create_app
    from bench.common import fresh_database
    from models import User, db

    fresh_database(database_url)
    redis.Redis.from_url(redis_url).flushdb()
    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url})
    with app.app_context():
        upgrade()
        db.session.add(User(external_id="bench-lms", role="service"))
        db.session.add_all(User(external_id=f"bench-{n}", role="learner") for n in range(2000))
        db.session.commit()
        db.engine.dispose()


def main() -> None:
    """Alternate the two trees' children; print each round and the medians."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", help="the other tree (e.g. a worktree of main)")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/batchcpu_micro")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6391/13")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batches", type=int, default=15)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.database_url, args.redis_url, args.batches, args.size)
        return
    if not args.base:
        parser.error("--base is required")
    sys.path.insert(0, str(ROOT))
    from api.config import normalize_database_url

    args.database_url = normalize_database_url(args.database_url)
    _prepare(args.database_url, args.redis_url)
    trees = {"base": str(Path(args.base).resolve()), "new": str(ROOT)}
    results: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    for round_number in range(args.rounds):
        order = list(trees) if round_number % 2 == 0 else list(reversed(trees))
        for name in order:
            command = [sys.executable, __file__, "--child", trees[name], "--database-url", args.database_url]
            command += ["--redis-url", args.redis_url, "--batches", str(args.batches), "--size", str(args.size)]
            child = subprocess.run(command, capture_output=True, text=True, env=env)
            if child.returncode:
                raise SystemExit(f"the {name} child failed:\n{child.stderr[-3000:]}")
            output = child.stdout
            timings = json.loads(output.strip().splitlines()[-1])
            for key, values in timings.items():
                results[name].setdefault(key, []).extend(values)
            medians = ", ".join(f"{key} {statistics.median(values):.2f}" for key, values in timings.items())
            print(f"round {round_number + 1} {name}: {medians} (CPU ms per batch of {args.size})", flush=True)
    print(f"\nmedians over {args.rounds} rounds x {args.batches} batches of {args.size} (CPU ms per batch):")
    print("| tree | POST /api/v1/events (test client) | validate_events | public_event x size |")
    print("| --- | --- | --- | --- |")
    for name, timings in results.items():
        print(f"| {name} | " + " | ".join(f"{statistics.median(timings[key]):.2f}" for key in timings) + " |")
    print("load average (1/5/15 min): " + " ".join(f"{value:.2f}" for value in os.getloadavg()))


if __name__ == "__main__":
    main()
