"""Concurrent batches advancing the same learner-skill pairs queue on PostgreSQL instead of deadlocking: each
locks the pairs in key order, whatever plan PostgreSQL picks, so a batch that waits holds no later pair."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from models import SkillMastery, User, db
from services.mastery import apply_assessments

PLANS = [
    "",
    "SET LOCAL enable_hashjoin = off",
    "SET LOCAL enable_mergejoin = off; SET LOCAL enable_hashjoin = off",
    "SET LOCAL enable_sort = off",
]


def _pairs() -> dict[str, int]:
    """Eight learners with a stored mastery row each, written in reverse key order (so the table's
    physical order is not the key order); their ids by external id."""
    users = [User(external_id=f"lock{i}", role="learner") for i in range(8)]
    db.session.add_all(users)
    db.session.flush()
    for user in sorted(users, key=lambda u: -u.id):
        db.session.add(SkillMastery(learner_id=user.id, skill="s", p_mastery=0.3, attempts=1, correct=0))
        db.session.flush()
    db.session.commit()
    return {user.external_id: user.id for user in users}


def _apply(app, ids: dict[str, int], plan: str, failures: list) -> None:
    events = [
        {"kind": "assessment", "learner": name, "skill": "s", "score": 9.0, "max_score": 10.0, "occurred_at": 1}
        for name in sorted(ids, reverse=True)
    ]
    with app.app_context():
        try:
            for statement in filter(None, plan.split("; ")):
                db.session.execute(sa.text(statement))
            apply_assessments(events, ids)
            db.session.commit()
        except Exception as exc:  # noqa: BLE001  (reported to the test's thread)
            failures.append(exc)
            db.session.rollback()


@pytest.mark.parametrize("plan", PLANS)
def test_a_waiting_batch_holds_no_later_pair(app, plan):
    if db.engine.dialect.name != "postgresql":
        return  # SQLite: one writer at a time, no row locks to order
    ids = _pairs()
    first, last = min(ids.values()), max(ids.values())
    holder = db.engine.connect()
    holder.begin()
    lock = "SELECT 1 FROM skill_mastery WHERE learner_id = :id AND skill = 's' FOR UPDATE"
    holder.execute(sa.text(lock), {"id": first})
    failures: list = []
    batch = threading.Thread(target=_apply, args=(app, ids, plan, failures))
    batch.start()
    waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO skill%'"
    deadline = time.monotonic() + 10
    while not db.session.scalar(sa.text(waiting)) and time.monotonic() < deadline:
        db.session.rollback()
        time.sleep(0.02)
    try:
        holder.execute(sa.text(lock + " NOWAIT"), {"id": last})  # fails if the batch took it before waiting
    finally:
        holder.rollback()
        holder.close()
        batch.join(10)
    assert not failures
    db.session.rollback()
    assert db.session.scalars(sa.select(SkillMastery.attempts)).all() == [2] * len(ids)
