"""Alert rules on planted learners against a real database: exactly the expected alerts, and the lifecycle."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import Alert, AlertHistory, ThresholdOverride, User, db
from services.monitoring import evaluate_rules
from services.sweeps import claim_window, cleanup_alerts, window_of
from tests.planted_cohort import EXPECTED, EXPECTED_ARCHETYPES, NOW, at, open_alerts


def test_planted_learners_raise_exactly_the_expected_alerts(planted):
    stats = evaluate_rules(planted.values(), "performance")
    assert open_alerts() == EXPECTED["performance"] and stats.created == 3 and stats.learners == 5
    evaluate_rules(planted.values(), "engagement")
    expected = {
        name: EXPECTED["performance"].get(name, set()) | rules for name, rules in EXPECTED["engagement"].items()
    }
    assert open_alerts() == expected


def test_archetypes_raise_exactly_the_expected_alerts(archetypes):
    for sweep in ("performance", "engagement"):
        evaluate_rules(archetypes.values(), sweep)
    found = open_alerts()
    assert {name: found.get(name, set()) for name in archetypes} == EXPECTED_ARCHETYPES
    stuck = db.session.scalar(sa.select(Alert).where(Alert.rule == "completion_stagnation"))
    assert stuck.factors["state"] == "active_but_stuck" and stuck.factors["days_since_module"] > 9


def test_a_second_sweep_raises_nothing_new(planted):
    evaluate_rules(planted.values(), "engagement")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Alert))
    again = evaluate_rules(planted.values(), "engagement")
    assert again.created == 0 and again.resolved == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Alert)) == before


def test_existing_alerts_are_read_once_for_all_the_rules_of_a_sweep(planted):
    """Two look-ups of existing alerts per evaluation (unresolved, then cooling down), however many rules."""
    from analytics.alert_rules import rules_for
    from tests.statement_count import statements

    assert len(rules_for("engagement")) >= 4
    for attempt in ("first", "repeat"):
        with statements() as seen:
            evaluate_rules(planted.values(), "engagement")
        reads = [s for s in seen if s.lstrip().startswith("SELECT") and "alerts.rule" in s.partition("WHERE")[2]]
        assert 1 <= len(reads) <= 2, (attempt, reads)


def test_alerts_carry_factors_recommendations_and_history(planted):
    evaluate_rules([planted["decliner"]], "performance")
    alert = db.session.scalar(sa.select(Alert).where(Alert.rule == "performance_decline"))
    assert alert.factors["recent_average"] == 55.0 and alert.factors["threshold"] == 60.0
    assert alert.severity == "low" and alert.recommendations and "55.0" in alert.message
    history = db.session.scalars(sa.select(AlertHistory).where(AlertHistory.alert_id == alert.id)).all()
    assert [(h.from_status, h.to_status) for h in history] == [(None, "open")]


def test_cleared_condition_resolves_and_cooldown_stops_flapping(planted, client, service):
    evaluate_rules([planted["decliner"]], "performance")
    recovery = [
        {"learner": "decliner", "kind": "assessment", "occurred_at": at(0.1 * i), "score": 80 + i, "max_score": 100}
        for i in (3, 2, 1)
    ]
    client.post("/api/v1/events", json={"events": recovery}, headers=service)
    stats = evaluate_rules([planted["decliner"]], "performance")
    assert stats.resolved >= 2 and "performance_decline" not in open_alerts().get("decliner", set())
    resolved = db.session.scalar(sa.select(Alert).where(Alert.rule == "performance_decline"))
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    assert (
        db.session.scalar(
            sa.select(AlertHistory.to_status)
            .where(AlertHistory.alert_id == resolved.id)
            .order_by(AlertHistory.id.desc())
            .limit(1)
        )
        == "resolved"
    )
    relapse = [
        {"learner": "decliner", "kind": "assessment", "occurred_at": at(0.01 * i), "score": 30, "max_score": 100}
        for i in (2, 1)
    ]
    client.post("/api/v1/events", json={"events": relapse}, headers=service)
    evaluate_rules([planted["decliner"]], "performance")
    assert "performance_decline" not in open_alerts().get("decliner", set())  # within the 24 h cooldown


@pytest.mark.parametrize("scope", ["global", "learner"])
def test_threshold_overrides_apply_by_scope(planted, scope):
    target = planted["inconsistent"] if scope == "learner" else 0
    db.session.add(
        ThresholdOverride(rule="low_consistency", parameter="share_below", scope_type=scope, scope_id=target, value=0.3)
    )
    db.session.commit()
    evaluate_rules(planted.values(), "engagement")
    assert "low_consistency" not in open_alerts().get("inconsistent", set())
    assert "low_consistency" in open_alerts()["disengaged"]  # 1/7 is still below 0.3


def test_dry_run_changes_nothing(planted):
    stats = evaluate_rules(planted.values(), "engagement", dry_run=True)
    assert {(row["rule"]) for row in stats.would_raise} >= {"engagement_drop", "low_consistency"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Alert)) == 0
    only = evaluate_rules(planted.values(), "engagement", dry_run=True, only_rule="engagement_drop")
    assert {row["rule"] for row in only.would_raise} == {"engagement_drop"}


def test_two_beats_in_one_window_run_once(app):
    window = window_of("performance")
    assert claim_window("performance", window, owner="beat-1-task") is True
    assert claim_window("performance", window, owner="beat-2-task") is False  # the second beat's run is skipped
    assert claim_window("performance", window, owner="beat-1-task") is True  # the same task redelivered resumes


def test_cleanup_deletes_only_old_resolved_alerts(planted):
    evaluate_rules(planted.values(), "engagement")
    old = NOW - timedelta(days=200)
    recent = NOW - timedelta(days=10)
    ages = {
        "streak_milestone": ("resolved", old),  # 3 alerts: the only ones past retention and closed
        "engagement_drop": ("acknowledged", old),  # still unresolved: someone is working on it
        "completion_stagnation": ("open", old),
        "low_consistency": ("resolved", recent),  # closed, but within the retention
    }
    for rule, (status, updated_at) in ages.items():
        db.session.execute(sa.update(Alert).where(Alert.rule == rule).values(status=status, updated_at=updated_at))
    db.session.commit()
    before = dict(db.session.execute(sa.select(Alert.rule, sa.func.count()).group_by(Alert.rule)).all())
    assert cleanup_alerts(90) == before["streak_milestone"] == 3
    after = dict(db.session.execute(sa.select(Alert.rule, sa.func.count()).group_by(Alert.rule)).all())
    assert after == {rule: count for rule, count in before.items() if rule != "streak_milestone"}
    assert after["engagement_drop"] == 1 and after["completion_stagnation"] == 2 and after["low_consistency"] == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AlertHistory)) == sum(after.values())


def test_velocity_sweep_stores_velocity_and_completion_forecasts(planted):
    from models import MetricSnapshot
    from services.monitoring import store_snapshots

    assert store_snapshots(planted.values(), "velocity", with_completion=True) == 5
    snapshot = db.session.scalar(sa.select(MetricSnapshot).where(MetricSnapshot.learner_id == planted["steady"]))
    assert snapshot.metrics["snapshot"] == "velocity" and snapshot.metrics["modules_per_week"] > 0
    [course] = snapshot.metrics["completion"]
    assert (course["course"], course["modules_total"], course["modules_completed"]) == ("c1", 4, 3)
    assert course["median_days"] > 0 and course["low_days"] <= course["median_days"] <= course["high_days"]


def test_day_rules_count_days_of_the_configured_time_zone(app, planted):
    app.config["ALERT_TIME_ZONE"] = "Pacific/Kiritimati"  # UTC+14: 'yesterday' there is mostly today in UTC
    evaluate_rules(planted.values(), "engagement")
    found = open_alerts()
    assert {"engagement_drop", "low_consistency"} <= found["disengaged"]  # silent for days in any zone
    assert "engagement_drop" not in found.get("steady", set())


def test_an_inactive_account_raises_a_system_alert_that_resolves_when_the_learner_is_back(planted, client, service):
    old = [{"learner": "sleeper", "kind": "activity", "occurred_at": at(d)} for d in (20, 21)]
    assert client.post("/api/v1/events", json={"events": old}, headers=service).status_code == 201
    sleeper = db.session.scalar(sa.select(User.id).where(User.external_id == "sleeper"))
    stats = evaluate_rules([*planted.values(), sleeper], "performance")  # the performance sweep and events
    assert [name for name, rules in open_alerts().items() if "account_inactive" in rules] == ["sleeper"]
    alert = db.session.scalar(sa.select(Alert).where(Alert.rule == "account_inactive"))
    assert alert.severity == "medium" and alert.factors["threshold"] == 14 and stats.by_rule["account_inactive"] == 1
    back = {"learner": "sleeper", "kind": "activity", "occurred_at": at(0.01)}
    assert client.post("/api/v1/events", json=back, headers=service).status_code == 201
    assert evaluate_rules([sleeper], "performance").resolved == 1
    db.session.refresh(alert)
    assert alert.status == "resolved" and "sleeper" not in open_alerts()
