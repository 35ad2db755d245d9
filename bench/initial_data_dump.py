"""Dump dashboard_initial_data of many users at one frozen instant, to compare two trees' payloads byte for byte.

Every `datetime.now` of the project's modules answers --at, so two runs (e.g. a base tree and a branch, each run
from its own directory) give the same JSON exactly when the code computes the same figures. Each user's initial
data is computed twice in a row (the second with every per-process cache warm). Read-only.

    .venv/bin/python bench/initial_data_dump.py --database-url postgresql://postgres@127.0.0.1:5432/reads_db --redis-url URL \\
        --at 2026-11-30T03:00:00.123456+00:00 --out /tmp/new.json [--users bench-educator,bench-l0-7 | all]
    (cd /tmp/base && .venv/bin/python bench/initial_data_dump.py ... --out /tmp/base.json); cmp /tmp/base.json /tmp/new.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from api import create_app  # noqa: E402
from api.auth.guard import Principal  # noqa: E402
from api.config import normalize_database_url  # noqa: E402
from models import User, db  # noqa: E402

LEARNERS_SAMPLED = 400  # "all": every educator, admin and service, and learners up to this many


def _freeze(at: dt.datetime) -> None:
    """Make every project module's `datetime.now` answer `at`."""

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):  # noqa: ANN001, ANN206
            return at if tz is not None else at.replace(tzinfo=None)

    for name, module in list(sys.modules.items()):
        top = name.split(".")[0]
        if top in ("api", "services", "analytics", "models") and getattr(module, "datetime", None) is dt.datetime:
            module.datetime = Frozen  # type: ignore[attr-defined]


def _users(wanted: str) -> list[str]:
    if wanted != "all":
        return wanted.split(",")
    rows = db.session.execute(sa.select(User.external_id, User.role).order_by(User.id)).all()
    others = [external_id for external_id, role in rows if role != "learner"]
    return others + [external_id for external_id, role in rows if role == "learner"][:LEARNERS_SAMPLED]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True, help="the app needs one; the dump writes nothing to it")
    parser.add_argument("--at", required=True, help="the frozen instant (ISO 8601 with offset)")
    parser.add_argument("--users", default="all", help="comma-separated external ids, or all")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    app = create_app(
        {
            "SECRET_KEY": "initial-data-dump-" + "x" * 16,
            "SQLALCHEMY_DATABASE_URI": normalize_database_url(args.database_url),
            "REDIS_URL": args.redis_url,
        }
    )
    from api.realtime.initial_data import dashboard_initial_data  # noqa: PLC0415

    _freeze(dt.datetime.fromisoformat(args.at))
    out = {}
    with app.app_context():
        for external_id in _users(args.users):
            row = db.session.execute(
                sa.select(User.id, User.external_id, User.role).where(User.external_id == external_id)
            ).one()
            principal = Principal(*row)
            out[external_id] = [dashboard_initial_data(principal, "s"), dashboard_initial_data(principal, "s")]
            db.session.remove()
    Path(args.out).write_text(json.dumps(out, indent=1, default=str))  # key order is part of the payload
    print(f"{len(out)} users -> {args.out}")


if __name__ == "__main__":
    main()
