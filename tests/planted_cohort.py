"""A planted cohort with known behaviour (steady, decliner, disengaged, stagnating, inconsistent) and the
alerts each must raise; the `planted` fixture is registered in conftest.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from models import Alert, ThresholdOverride, User, db

NOW = datetime.now(UTC).replace(microsecond=0)


def hour_ago(days_ago: float, hour: int, now: datetime) -> str:
    """That hour on the day `days_ago` before now, pulled back to a minute before now if later, but never past
    midnight: a run in the first minute after midnight UTC put "today's" activity on yesterday."""
    day = (now - timedelta(days=days_ago)).replace(hour=hour, minute=0, second=0)
    return max(day.replace(hour=0), min(day, now - timedelta(minutes=1))).isoformat()


def at(days_ago: float, hour: int = 10) -> str:
    return hour_ago(days_ago, hour, NOW)


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
        "inconsistent", [1, 3, 5, 8, 10, 12], [(12, 76), (10, 74), (8, 78), (5, 75), (3, 77)], [12, 5, 1]
    ),  # active on 3 of the last 7 whole days (today is never counted)
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


DAILY = list(range(14))
# More archetypes, each showing one definition (used by test_monitoring's archetype test only, so the
# alert counts of the API tests built on PLANTED stay as they are).
ARCHETYPES = {
    # ~94 and steady: the recent average earns the achievement.
    "high_achiever": learner_events(
        "high_achiever", DAILY, [(d, 94 + (d % 3) - 1) for d in range(13, 0, -2)], [12, 6, 1]
    ),
    # From ~96 down to ~75 (all-time average still high): decline alerts, and no achievement beside them.
    "drifter": learner_events(
        "drifter",
        DAILY,
        [(13, 97), (12, 96), (11, 95), (10, 97), (9, 96), (7, 88), (5, 82), (3, 77), (1, 75)],
        [12, 6, 1],
    ),
    # Flat around 70 with noise sd ~6; the last three happen to fall (the old rule fired on that).
    "noisy_flat": learner_events(
        "noisy_flat",
        DAILY,
        [
            (13, 78),
            (12, 62),
            (11, 71),
            (10, 80),
            (9, 65),
            (8, 74),
            (7, 61),
            (6, 77),
            (5, 70),
            (4, 63),
            (3, 79),
            (2, 72),
            (1, 66),
        ],
        [12, 6, 1],
    ),
    # Falling ~2.5 points per assessment, the last score ticks up (the old rule missed it).
    "noisy_decliner": learner_events(
        "noisy_decliner",
        DAILY,
        [
            (13, 90),
            (12, 88),
            (11, 85),
            (10, 83),
            (9, 80),
            (8, 78),
            (7, 74),
            (6, 71),
            (5, 68),
            (4, 64),
            (3, 61),
            (2, 66),
        ],
        [12, 6, 1],
    ),
    # Retries an assessment every day, completes no module for 10 days: stuck while active.
    "retrying": learner_events("retrying", DAILY, [(d, 70 + d % 3) for d in range(9, 0, -1)], [12, 10]),
    # First seen yesterday: too little history for any day-based alert.
    "newcomer": learner_events("newcomer", [1, 0], [(1, 80)], []),
}
EXPECTED_ARCHETYPES = {
    "high_achiever": {"high_performance", "streak_milestone"},
    "drifter": {"declining_trend", "baseline_decline", "streak_milestone"},
    "noisy_flat": {"streak_milestone"},
    "noisy_decliner": {"declining_trend", "baseline_decline", "streak_milestone"},
    "retrying": {"completion_stagnation", "streak_milestone"},
    "newcomer": set(),
}


def load_planted(client, service, planted: dict[str, list[dict]]) -> dict[str, int]:
    """Create course c1 with modules m0..m3, post the learners' events, silence at_risk; name -> id."""
    client.put("/api/v1/courses/c1", json={"title": "C1"}, headers=service)
    for m in range(4):
        client.put(f"/api/v1/modules/m{m}", json={"course": "c1", "title": f"M{m}"}, headers=service)
    events = [e for rows in planted.values() for e in rows]
    assert client.post("/api/v1/events", json={"events": events}, headers=service).status_code == 201
    # The risk model is tested on its own; keep it quiet here so the rule set is exact.
    db.session.add(
        ThresholdOverride(rule="at_risk", parameter="probability_at_least", scope_type="global", scope_id=0, value=1.01)
    )
    db.session.commit()
    return dict(db.session.execute(sa.select(User.external_id, User.id).where(User.role == "learner")).all())


@pytest.fixture
def planted(client, service):
    return load_planted(client, service, PLANTED)


@pytest.fixture
def archetypes(client, service):
    return load_planted(client, service, ARCHETYPES)


def open_alerts() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, rule in db.session.execute(
        sa.select(User.external_id, Alert.rule)
        .join(User, User.id == Alert.learner_id)
        .where(Alert.status != "resolved")
    ):
        found.setdefault(name, set()).add(rule)
    return found
