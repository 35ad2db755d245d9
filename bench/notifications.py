"""What the notifications hook costs the publish path: publish() of grade updates without the outbox
(the floor, the publisher alone), as shipped with no webhook endpoint (one SELECT), and with one
endpoint wanting them (that SELECT plus handing the batch to Celery); and the worker's fan-out.

In one process against PostgreSQL and Redis; channels are unwatched, as for learners nobody is viewing.
Usage: .venv/bin/python bench/notifications.py [--learners N] [--runs N] [--database-url URL] [--redis-url URL]
Creates and drops its own database; sends to a Celery queue nobody consumes and deletes it afterwards.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import redis
import sqlalchemy as sa
from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api import create_app  # noqa: E402
from api.config import normalize_database_url  # noqa: E402
from bench.common import bench_parser, fresh_database, percentile, sample_ms  # noqa: E402
from models import User, WebhookDelivery, WebhookEndpoint, db  # noqa: E402
from services import publisher  # noqa: E402
from services.notifications import outbox  # noqa: E402
from services.notifications.webhooks import fan_out  # noqa: E402

QUEUE = "learnpulse-bench-notify-unconsumed"


def timed(call: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median, p95) milliseconds of `runs` calls after one warm-up."""
    times = sample_ms(call, runs)
    return statistics.median(times), percentile(times, 95)


def grade_messages(names: list[str]) -> list[tuple[str, str, dict]]:
    return [("grade_update", f"learner:{n}", {"learner": n, "exam": "X1", "marks": 41.0}) for n in names]


def _seed(database_url: str, redis_url: str, learners: int) -> tuple[Flask, list[str]]:
    """A migrated database with `learners` learners and the LMS service account; Celery sends to QUEUE."""
    from flask_migrate import upgrade

    app = create_app(
        {
            "SECRET_KEY": "b" * 40,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "CELERY": {"task_default_queue": QUEUE},
        }
    )
    names = [f"l{i}" for i in range(learners)]
    with app.app_context():
        upgrade()
        db.session.add_all(
            [User(external_id=n, role="learner") for n in names] + [User(external_id="lms", role="service")]
        )
        db.session.commit()
    return app, names


def _publish_times(label: str, client: redis.Redis, batch: list, one: list, runs: int) -> tuple:
    """(label, timings of publishing the whole batch, timings of publishing one message)."""
    return (
        label,
        timed(lambda: publisher.publish(client, batch), runs),
        timed(lambda: publisher.publish(client, one), runs),
    )


def _add_endpoint() -> None:
    """One enabled webhook endpoint of the LMS wanting grade updates (its URL is never reached)."""
    owner = db.session.scalar(sa.select(User.id).where(User.external_id == "lms"))
    db.session.add(
        WebhookEndpoint(
            owner_id=owner,
            url="http://127.0.0.1:9/",
            events=["grade_update"],
            secret="s",
            enabled=True,
            consecutive_failures=0,
        )
    )
    db.session.commit()


def _measure(app: Flask, names: list[str], runs: int) -> tuple[list[tuple], tuple[float, float], int]:
    """publish() with the hook off, as shipped and with an endpoint; then the worker's fan-out."""
    client, batch, one = app.extensions["redis"], grade_messages(names), grade_messages(names[:1])
    shipped = outbox.queue_notifications
    rows = []
    for label, hook in (("floor: publisher alone", lambda messages: None), ("no endpoint (shipped)", shipped)):
        publisher.queue_notifications = hook
        rows.append(_publish_times(label, client, batch, one, runs))
    _add_endpoint()
    rows.append(_publish_times("one endpoint wants them", client, batch, one, runs))
    publisher.queue_notifications = shipped
    fan = timed(lambda: fan_out([[e, d] for e, _, d in batch]), 5)
    deliveries = db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery))
    return rows, fan, deliveries


def main() -> None:
    parser = bench_parser(__doc__, "learnpulse_bench_notify", 3)
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    url = fresh_database(normalize_database_url(args.database_url))
    app, names = _seed(url, args.redis_url, args.learners)
    with app.app_context():
        rows, fan, deliveries = _measure(app, names, args.runs)
        redis.Redis.from_url(args.redis_url).delete(QUEUE)
        db.session.remove()
        db.engine.dispose()
    print(f"command: .venv/bin/python bench/notifications.py {' '.join(sys.argv[1:])}")
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"| case | publish() of {args.learners} grade updates: median / p95 | publish() of 1: median / p95 |")
    print("| --- | --- | --- |")
    for label, (m, p), (m1, p1) in rows:
        print(f"| {label} | {m:.2f} / {p:.2f} ms | {m1:.2f} / {p1:.2f} ms |")
    print(
        f"worker fan-out of {args.learners} messages to one endpoint (rows written): median {fan[0]:.1f} ms, p95 {fan[1]:.1f} ms ({deliveries} deliveries in 6 runs)"
    )


if __name__ == "__main__":
    main()
