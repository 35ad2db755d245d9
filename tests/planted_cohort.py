"""A planted cohort with known behaviour (steady, decliner, disengaged, stagnating, inconsistent) and the
alerts each must raise; the `planted` fixture is registered in conftest.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from models import Alert, ThresholdOverride, User, db

NOW = datetime.now(UTC).replace(microsecond=0)


def at(days_ago: float, hour: int = 10) -> str:
    day = (NOW - timedelta(days=days_ago)).replace(hour=hour, minute=0, second=0)
    return min(day, NOW - timedelta(minutes=1)).isoformat()


def learner_events(
    name: str, active_days: list[int], scores: list[tuple[int, float]], modules: list[int]
) -> list[dict]:
    events = [{"learner": name, "kind": "activity", "occurred_at": at(d), "module": "m1"} for d in active_days]
    events += [
        {"learner": name, "kind": "assessment", "occurred_at": at(d, 15), "score": s, "max_score": 100, "module": "m1"}
        for d, s in scores
    ]
    events += [
        {"learner": name, "kind": "module_completed", "occurred_at": at(d, 16), "module": f"m{i}"}
        for i, d in enumerate(modules)
    ]
    return events


STEADY_SCORES = [(13, 76), (11, 74), (9, 78), (7, 75), (5, 77), (3, 74), (1, 76)]
PLANTED = {
    "steady": learner_events("steady", list(range(14)), STEADY_SCORES, [12, 6, 1]),
    "decliner": learner_events(
        "decliner", list(range(14)), [(13, 86), (11, 84), (9, 85), (7, 83), (5, 70), (3, 60), (1, 50)], [12, 6, 1]
    ),
    "disengaged": learner_events(
        "disengaged", list(range(6, 14)), [(13, 76), (11, 74), (9, 78), (7, 75), (6, 77)], [12, 7]
    ),
    "stagnating": learner_events(
        "stagnating", list(range(14)), [(13, 76), (12, 74), (11, 78), (10, 75), (9, 77)], [12, 9]
    ),
    "inconsistent": learner_events(
        "inconsistent", [0, 3, 6, 9, 12], [(12, 76), (9, 74), (6, 78), (3, 75), (0, 77)], [12, 6, 0]
    ),  # active on 3 of the last 7 days
}
EXPECTED = {
    "performance": {"decliner": {"performance_decline", "declining_trend", "baseline_decline"}},
    "engagement": {
        "steady": {"streak_milestone"},
        "decliner": {"streak_milestone"},
        "disengaged": {"engagement_drop", "completion_stagnation", "low_consistency"},
        "stagnating": {"completion_stagnation", "streak_milestone"},
        "inconsistent": {"low_consistency"},
    },
}


@pytest.fixture
def planted(client, service):
    client.put("/api/v1/courses/c1", json={"title": "C1"}, headers=service)
    for m in range(4):
        client.put(f"/api/v1/modules/m{m}", json={"course": "c1", "title": f"M{m}"}, headers=service)
    events = [e for rows in PLANTED.values() for e in rows]
    assert client.post("/api/v1/events", json={"events": events}, headers=service).status_code == 201
    # The risk model is tested on its own; keep it quiet here so the rule set is exact.
    db.session.add(
        ThresholdOverride(rule="at_risk", parameter="probability_at_least", scope_type="global", scope_id=0, value=1.01)
    )
    db.session.commit()
    return dict(db.session.execute(sa.select(User.external_id, User.id).where(User.role == "learner")).all())


def open_alerts() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, rule in db.session.execute(
        sa.select(User.external_id, Alert.rule)
        .join(User, User.id == Alert.learner_id)
        .where(Alert.status != "resolved")
    ):
        found.setdefault(name, set()).add(rule)
    return found
