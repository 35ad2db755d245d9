"""A school for the dashboard benchmark, built through the public API and evaluated as the worker would.

One educator teaches `sections` sections of one course with `per_section` learners each. Every learner
has ~30 activities and assessments over the last 30 days (an ability, a drift and noise per learner,
so cohort reports, risk lights and anomaly scores are real) plus a class register. Entities,
enrollments and events go through the REST API (Flask test client, batches of 5,000 events); then
the worker's own task bodies run in this process: the evaluation drain (counters, rules, snapshots)
and the daily analytics (daily snapshots, cohort snapshots, risk model, skill models). So whatever
state the worker keeps fresh for dashboards exists when the benchmark starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import redis

from bench.common import fresh_database

SECRET = "bench-secret-" + "x" * 40
COURSE = "bench-algebra"
EDUCATOR = "bench-educator"
SERVICE = "bench-lms"
SKILLS = ("fractions", "equations", "graphs", "ratios")
BATCH = 5000  # api.events.schemas.MAX_BATCH
DAYS = 30


@dataclass
class School:
    """What the benchmark needs from the seeded school."""

    learners: list[str]
    learner_tokens: list[str]
    educator_token: str
    events: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def _learner_events(rng: np.random.Generator, learner: str, section: str, per_learner: int, now: datetime) -> list:
    """One learner's month: assessments (40%) and activities at random times, and a class register."""
    ability, drift = float(np.clip(rng.normal(74, 12), 25, 99)), float(rng.normal(0, 0.5))
    offsets = np.sort(rng.uniform(0.2, DAYS, per_learner))
    events: list[dict[str, Any]] = []
    for n, days_ago in enumerate(offsets[::-1]):
        base = {
            "id": f"{learner}-{n}",
            "learner": learner,
            "occurred_at": (now - timedelta(days=float(days_ago))).isoformat(),
            "course": COURSE,
            "section": section,
        }
        if rng.random() < 0.4:
            score = float(np.clip(ability + drift * (DAYS / 2 - days_ago) + rng.normal(0, 8), 0, 100))
            events.append({**base, "kind": "assessment", "score": round(score, 1), "max_score": 100,
                           "skill": SKILLS[n % len(SKILLS)]})  # fmt: skip
        else:
            events.append({**base, "kind": "activity", "duration_seconds": int(rng.integers(120, 2400))})
    present = float(np.clip(rng.normal(0.9, 0.1), 0.3, 1.0))
    for day in range(1, 15):
        on = (now - timedelta(days=day)).date()
        if on.weekday() < 5:
            status = "present" if rng.random() < present else str(rng.choice(["absent", "late"]))
            events.append({"id": f"{learner}-r{day}", "learner": learner, "kind": "attendance",
                           "section": section, "date": on.isoformat(), "status": status})  # fmt: skip
    return events


def _call(client, method: str, path: str, token: str, body: Any, expect: tuple[int, ...] = (200, 201)) -> Any:
    response = client.open(f"/api/v1{path}", method=method, json=body, headers={"Authorization": f"Bearer {token}"})
    if response.status_code not in expect:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.get_data(as_text=True)[:300]}")
    return response.get_json()


def _catalog(client, token: str, sections: list[str]) -> None:
    """The educator, the course and its sections, as an LMS integration would create them."""
    _call(client, "PUT", f"/users/{EDUCATOR}", token, {"role": "educator", "name": "Bench Educator"})
    _call(client, "PUT", f"/courses/{COURSE}", token, {"title": "Algebra I"})
    for name in sections:
        _call(client, "PUT", f"/sections/{name}", token, {"name": name, "course": COURSE, "educator": EDUCATOR})


def _ingest(client, token: str, roster: dict[str, str], per_learner: int) -> int:
    """All events in API batches (learners are auto-created by their first event)."""
    rng, now = np.random.default_rng(9), datetime.now(UTC)
    events = [
        e for learner, section in roster.items() for e in _learner_events(rng, learner, section, per_learner, now)
    ]
    order = rng.permutation(len(events))  # an LMS sends a school's events interleaved, not learner by learner
    for start in range(0, len(events), BATCH):
        _call(client, "POST", "/events", token, {"events": [events[i] for i in order[start : start + BATCH]]})
    return len(events)


def _enroll(roster: dict[str, str]) -> None:
    """The rows PUT /sections/<id>/enrollments/<learner> creates, in one statement: a thousand PUTs,
    each with its own commit, take ~20 s on the shared machine (200 took 4.1 s)."""
    import sqlalchemy as sa

    from models import Enrollment, Section, User, db

    sections = dict(db.session.execute(sa.select(Section.external_id, Section.id)).all())
    learners = dict(db.session.execute(sa.select(User.external_id, User.id).where(User.role == "learner")).all())
    now = datetime.now(UTC)
    rows = [
        {"learner_id": learners[name], "section_id": sections[section], "status": "active", "enrolled_at": now}
        for name, section in roster.items()
    ]
    db.session.execute(sa.insert(Enrollment), rows)  # created_at / updated_at: the model's defaults
    db.session.commit()


def _evaluate() -> None:
    """What the worker does after these events and what beat runs daily, in this process."""
    from worker.tasks import daily_analytics, evaluate_pending

    evaluate_pending.run()
    daily_analytics.run()


def seed_school(database_url: str, redis_url: str, sections: int, per_section: int, per_learner: int) -> School:
    """Fresh database and Redis database, the school through the API, then the worker's evaluation."""
    started = time.perf_counter()
    fresh_database(database_url)
    redis.Redis.from_url(redis_url).flushdb()
    from flask_migrate import upgrade

    from api import create_app
    from api.auth.tokens import issue_token
    from models import User, db

    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url})
    names = [f"bench-sec-{k + 1}" for k in range(sections)]
    roster = {f"bench-l{k}-{i}": names[k] for k in range(sections) for i in range(per_section)}
    service_token = issue_token(SECRET, SERVICE, "service", 3600)[0]
    timings: dict[str, float] = {}
    with app.app_context():
        upgrade()
        db.session.add(User(external_id=SERVICE, role="service"))  # the integration's account
        db.session.commit()
        timings["database"] = time.perf_counter() - started
        started = time.perf_counter()
        client = app.test_client()
        _catalog(client, service_token, names)
        count = _ingest(client, service_token, roster, per_learner)
        timings["api"] = time.perf_counter() - started
        started = time.perf_counter()
        _enroll(roster)
        timings["enroll"] = time.perf_counter() - started
        started = time.perf_counter()
        _evaluate()
        timings["evaluate"] = time.perf_counter() - started
        db.engine.dispose()
    learners = list(roster)
    return School(
        learners=learners,
        learner_tokens=[issue_token(SECRET, name, "learner", 7200)[0] for name in learners],
        educator_token=issue_token(SECRET, EDUCATOR, "educator", 7200)[0],
        events=count,
        timings=timings,
    )
