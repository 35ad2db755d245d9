"""The alert lifecycle in the database: open once, resolve when the condition clears, record history."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa

from analytics.alert_rules import RULES, Rule, RuleResult
from models import SEVERITIES, Alert, AlertHistory, db
from models.upsert import chunks_in, dialect_insert
from services.json_values import json_scalar

DEFAULT_COOLDOWN = timedelta(hours=24)  # a resolved alert does not re-open sooner than this
UNRESOLVED = Alert.status != "resolved"


@dataclass
class SyncOutcome:
    created: list[dict[str, Any]] = field(default_factory=list)  # new alerts, ready to publish
    resolved: list[dict[str, Any]] = field(default_factory=list)


def alert_message(rule: Rule, factors: dict[str, Any]) -> str:
    """A readable sentence with the values behind the alert."""
    shown = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in factors.items() if value is not None)
    return f"{rule.title} ({rule.description}): {shown}." if shown else f"{rule.title}."


def type_fields(rule_name: str) -> dict[str, Any]:
    """The brief's `type` and `action_required` of an alert, from its rule (the catalog is their one
    source); an alert of a rule no longer in the catalog counts as a system alert needing action."""
    rule = RULES.get(rule_name)
    return {"type": rule.type if rule else "system", "action_required": rule.action_required if rule else True}


def alert_json(alert: Alert, learner: str | None = None) -> dict[str, Any]:
    return {
        "id": alert.id,
        "learner": learner,
        "rule": alert.rule,
        **type_fields(alert.rule),
        "scope": alert.scope_key,
        "severity": alert.severity,
        "status": alert.status,
        "title": alert.title,
        "message": alert.message,
        "factors": alert.factors,
        "recommendations": alert.recommendations,
        "created_at": alert.created_at.isoformat(),
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
    }


def _learners(ids: list[int]) -> list[Any]:
    """Conditions selecting these learners' alerts: a sweep shard's dense id range is one index range
    (rows outside `ids` are dropped by the caller), a few scattered ids are looked up one by one."""
    if len(ids) >= 500 and max(ids) - min(ids) < 2 * len(ids):
        return [Alert.learner_id.between(min(ids), max(ids))]
    return chunks_in(Alert.learner_id, ids)


def _unresolved(rule: str, ids: list[int]) -> dict[int, tuple[int, str]]:
    """learner id -> (alert id, status) of the unresolved alert of this rule."""
    wanted = set(ids)
    return {
        learner: (alert, status)
        for condition in _learners(ids)
        for learner, alert, status in db.session.execute(
            sa.select(Alert.learner_id, Alert.id, Alert.status).where(condition, Alert.rule == rule, UNRESOLVED)
        )
        if learner in wanted
    }


def _cooling(rule: str, ids: list[int], since: datetime) -> set[int]:
    wanted = set(ids)
    return {
        learner
        for condition in _learners(ids)
        for (learner,) in db.session.execute(
            sa.select(Alert.learner_id).where(condition, Alert.rule == rule, Alert.resolved_at >= since)
        )
        if learner in wanted
    }


def _open_alerts(rows: list[dict[str, Any]], rule: Rule, now: datetime) -> dict[int, int]:
    """Insert the alerts that do not lose the race to an existing unresolved one, and their history;
    returns learner id -> new alert id."""
    table = Alert.__table__
    insert = dialect_insert(Alert).on_conflict_do_nothing(
        index_elements=["learner_id", "rule", "scope_key"], index_where=sa.text("status <> 'resolved'")
    )
    inserted = {
        learner: pk for pk, learner in db.session.execute(insert.returning(table.c.id, table.c.learner_id), rows)
    }
    if inserted:
        db.session.execute(
            sa.insert(AlertHistory.__table__),
            [
                {"alert_id": pk, "from_status": None, "to_status": "open", "note": "condition met", "at": now}
                for pk in inserted.values()
            ],
        )
    return inserted


# The same on PostgreSQL as one statement over arrays: a first sweep opens tens of thousands of
# alerts, and pages of multi-row INSERT ... RETURNING (twice, with the history) cost most of it.
OPEN_ALERTS_SQL = sa.text("""
WITH fresh AS (
    SELECT * FROM unnest(CAST(:learners AS bigint[]), CAST(:severities AS text[]), CAST(:messages AS text[]),
                         CAST(:factors AS text[])) AS f(learner_id, severity, message, factors)
), opened AS (
    INSERT INTO alerts (learner_id, rule, scope_key, severity, status, title, message, factors, recommendations,
                        created_at, updated_at)
    SELECT learner_id, :rule, 'global', severity, 'open', :title, message, CAST(factors AS json),
           CAST(:recommendations AS json), :now, :now FROM fresh
    ON CONFLICT (learner_id, rule, scope_key) WHERE status <> 'resolved' DO NOTHING
    RETURNING id, learner_id
), logged AS (
    INSERT INTO alert_history (alert_id, from_status, to_status, note, at)
    SELECT id, NULL, 'open', 'condition met', :now FROM opened
)
SELECT id, learner_id FROM opened
""")


def _open_alerts_set_based(rows: list[dict[str, Any]], rule: Rule, now: datetime) -> dict[int, int]:
    params = {
        "learners": [row["learner_id"] for row in rows],
        "severities": [row["severity"] for row in rows],
        "messages": [row["message"] for row in rows],
        "factors": [json.dumps(row["factors"]) for row in rows],
        "rule": rule.name,
        "title": rule.title,
        "recommendations": json.dumps(list(rule.recommendations)),
        "now": now,
    }
    return {learner: pk for pk, learner in db.session.execute(OPEN_ALERTS_SQL, params)}


def _alert_row(rule: Rule, learner: int, i: int, result: RuleResult, now: datetime) -> dict[str, Any]:
    """The row of a new alert for one learner (index `i` of the rule's result)."""
    factors = {name: json_scalar(values[i], 3) for name, values in result.factors.items()}
    return {
        "learner_id": learner,
        "rule": rule.name,
        "scope_key": "global",
        "severity": SEVERITIES[int(result.severity[i])],
        "status": "open",
        "title": rule.title,
        "message": alert_message(rule, factors),
        "factors": factors,
        "recommendations": list(rule.recommendations),
        "created_at": now,
        "updated_at": now,
    }


def _resolve(rule: Rule, previous: dict[int, str], now: datetime) -> list[dict[str, Any]]:
    """Resolve these unresolved alerts (id -> status) whose condition cleared, with their history."""
    resolved = db.session.execute(
        sa.update(Alert)
        .where(Alert.id.in_(list(previous)), UNRESOLVED)
        .values(status="resolved", resolved_at=now, updated_at=now)
        .returning(Alert.id, Alert.learner_id)
    ).all()
    if resolved:
        history = [
            {
                "alert_id": pk,
                "from_status": previous[pk],
                "to_status": "resolved",
                "note": "condition cleared",
                "at": now,
            }
            for pk, _ in resolved
        ]
        db.session.execute(sa.insert(AlertHistory.__table__), history)
    return [{"id": pk, "learner_id": learner, "rule": rule.name} for pk, learner in resolved]


def sync_rule(
    rule: Rule, learner_ids: np.ndarray, result: RuleResult, now: datetime, cooldown: timedelta = DEFAULT_COOLDOWN
) -> SyncOutcome:
    """Open alerts where the rule holds and none is open; resolve open ones where it no longer holds.

    Safe to run twice at once or to repeat after a crash: the partial unique index allows one
    unresolved alert per learner, rule and scope, and inserts that lose the race are skipped.
    """
    ids = [int(i) for i in learner_ids]
    triggered = {ids[i]: int(i) for i in np.flatnonzero(result.triggered)}
    open_alerts = _unresolved(rule.name, ids)
    outcome = SyncOutcome()
    candidates = [learner for learner in triggered if learner not in open_alerts]
    fresh = set(candidates) - _cooling(rule.name, candidates, now - cooldown) if candidates else set()
    rows = [_alert_row(rule, learner, triggered[learner], result, now) for learner in sorted(fresh)]
    if rows:
        opener = _open_alerts_set_based if db.engine.dialect.name == "postgresql" else _open_alerts
        inserted = opener(rows, rule, now)
        outcome.created = [dict(row, id=inserted[row["learner_id"]]) for row in rows if row["learner_id"] in inserted]
    previous = {alert: status for learner, (alert, status) in open_alerts.items() if learner not in triggered}
    if previous:
        outcome.resolved = _resolve(rule, previous, now)
    return outcome
