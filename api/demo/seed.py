"""`flask demo seed`: build the demo school, ingest its history through the API's own ingest path, then
evaluate every learner, so dashboards open on live alerts. Re-running with the same --seed and --days on
the same day (UTC) stores nothing new (every event is a duplicate; more --learners adds the new ones);
a database holding another demo (other seed, days, day or version) is refused before anything is written."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from api.demo.catalog import (
    ADMIN_ID,
    DEMO_COURSE,
    GROUPS,
    Catalog,
    build_catalog,
    enroll,
    ensure_learners,
    learner_external_id,
)
from api.demo.evaluation import Bar, evaluate_school
from api.demo.history import SLIPPING, assign_profiles, learner_events
from api.errors import ApiError
from api.events.ingest import ingest_events
from models import Course, db

BATCH = 5000


class DemoConflict(Exception):
    """The database already holds a different demo school (another seed, size or version)."""


def _ingest(pending: list[dict[str, Any]]) -> int:
    """Store events through the API's ingest path; returns how many were new."""
    stored = 0
    for offset in range(0, len(pending), BATCH):
        try:
            result = ingest_events(
                pending[offset : offset + BATCH], collection="events", auto_create=True, skew=timedelta(minutes=5)
            )
        except ApiError as exc:
            if exc.status != 409:
                raise
            raise DemoConflict(
                "this database already holds a different demo school (its events differ from this seed's); "
                "seed a fresh database instead (stop LearnPulse, delete instance/learnpulse.db, `make run` again)"
            ) from exc
        stored += len(result.stored_ids)
    return stored


def _history(profiles: dict[int, str], start: date, days: int, seed: int, catalog: Catalog, bar: Bar) -> int:
    """Generate and ingest every learner's history, a batch at a time; returns events stored."""
    stored, pending = 0, []
    with bar(sorted(profiles), "Events            ") as numbers:
        for n in numbers:
            pending += learner_events(n, profiles[n], start, days, seed, catalog)
            if len(pending) >= BATCH:
                stored, pending = stored + _ingest(pending), []
    return stored + (_ingest(pending) if pending else 0)


def _shown_learner(profiles: dict[int, str]) -> str:
    """A steady learner in demo-educator-1's class (group 0), to sign in as."""
    mine = [n for n in sorted(profiles) if n % GROUPS == 0] or sorted(profiles)
    return learner_external_id(next((n for n in mine if profiles[n] == "steady"), mine[0]))


def _check_same_demo(marker: str) -> None:
    """Refuse before writing anything when the database holds a demo made with other options or on another day."""
    row = db.session.execute(sa.select(Course.description).where(Course.external_id == DEMO_COURSE)).first()
    if row is not None and row.description != marker:
        raise DemoConflict(
            f"this database already holds a different demo school ({row.description or 'made by an older version'}); "
            "re-seeding adds nothing unless --seed and --days match and it is the same day (UTC). "
            "Seed a fresh database instead (stop LearnPulse, delete instance/learnpulse.db, `make run` again)"
        )


def seed_school(learner_count: int, days: int, random_seed: int, bar: Bar, echo: Callable[[str], None]) -> dict:
    """Create the school, ingest its history and evaluate everyone; returns what the command prints."""
    start = (datetime.now(UTC) - timedelta(days=days)).date()
    marker = f"LearnPulse demo school: seed {random_seed}, {days} days from {start.isoformat()}"
    _check_same_demo(marker)
    catalog = build_catalog(start, days, marker)
    learners = ensure_learners(learner_count, random_seed)
    enroll(learners, catalog)
    profiles = assign_profiles(learner_count, random_seed)
    stored = _history(profiles, start, days, random_seed, catalog, bar)
    echo(f"  learners {learner_count}/{learner_count}, events stored {stored}")
    evaluation = evaluate_school(list(learners.values()), bar)
    return {
        "learners": len(learners),
        "sections": sum(len(sections) for sections in catalog.sections.values()),
        "events": stored,
        "profiles": dict(Counter(profiles.values()).most_common()),
        "slipping": sum(1 for p in profiles.values() if p in SLIPPING),
        "educator": "demo-educator-1",
        "learner": _shown_learner(profiles),
        "admin": ADMIN_ID,
        **evaluation,
    }
