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
from models.upsert import dialect_insert, rows_of_ids
from services.json_values import json_scalar

DEFAULT_COOLDOWN = timedelta(hours=24)  # a resolved alert does not re-open sooner than this
# The value as SQL text, not a bound parameter: PostgreSQL's generic plan for a prepared statement (psycopg
# prepares one run 5 times on a connection) then knows it, as its custom plans did: with a parameter it guessed
# one unresolved row and sorted them all (a dashboard's open alerts: 5 ms instead of 0.5), and the partial index
# on unresolved alerts matches only the literal.
UNRESOLVED = Alert.status != sa.literal_column("'resolved'")


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


@dataclass
class KnownAlerts:
    """What sync_rule needs of the learners' existing alerts, read once for all the rules evaluated."""

    unresolved: dict[str, dict[int, tuple[int, str]]] = field(default_factory=dict)  # rule -> learner -> (id, status)
    cooling: dict[str, set[int]] = field(default_factory=dict)  # rule -> learners with one resolved in the cooldown


def known_alerts(
    learner_ids: list[int], results: dict[str, RuleResult], now: datetime, cooldown: timedelta = DEFAULT_COOLDOWN
) -> KnownAlerts:
    """The learners' unresolved alerts of these rules, then which of the learners a rule would newly alert
    were resolved within the cooldown: two queries for all rules (a sweep shard: two range scans, where a
    look-up per rule cost 12 queries and, for a first sweep, ~0.1 s of PostgreSQL CPU)."""
    rules = sorted(results)
    known = KnownAlerts({rule: {} for rule in rules}, {rule: set() for rule in rules})
    unresolved = sa.select(Alert.learner_id, Alert.rule, Alert.id, Alert.status).where(
        Alert.rule.in_(rules), UNRESOLVED
    )
    for learner, rule, pk, status in rows_of_ids(unresolved, Alert.learner_id, learner_ids):
        known.unresolved[rule][learner] = (pk, status)
    candidates = {
        learner_ids[i]
        for rule, result in results.items()
        for i in np.flatnonzero(result.triggered)
        if learner_ids[i] not in known.unresolved[rule]
    }
    recent = sa.select(Alert.learner_id, Alert.rule).where(Alert.rule.in_(rules), Alert.resolved_at >= now - cooldown)
    for learner, rule in rows_of_ids(recent, Alert.learner_id, candidates):
        known.cooling[rule].add(learner)
    return known


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


def sync_rule(rule: Rule, learner_ids: list[int], result: RuleResult, now: datetime, known: KnownAlerts) -> SyncOutcome:
    """Open alerts where the rule holds and none is open; resolve open ones where it no longer holds
    (`known`: the learners' alerts as known_alerts read them).

    Safe to run twice at once or to repeat after a crash: the partial unique index allows one
    unresolved alert per learner, rule and scope, and inserts that lose the race are skipped.
    """
    triggered = {learner_ids[i]: int(i) for i in np.flatnonzero(result.triggered)}
    open_alerts, cooling = known.unresolved.get(rule.name, {}), known.cooling.get(rule.name, set())
    outcome = SyncOutcome()
    fresh = {learner for learner in triggered if learner not in open_alerts and learner not in cooling}
    rows = [_alert_row(rule, learner, triggered[learner], result, now) for learner in sorted(fresh)]
    if rows:
        opener = _open_alerts_set_based if db.engine.dialect.name == "postgresql" else _open_alerts
        inserted = opener(rows, rule, now)
        outcome.created = [dict(row, id=inserted[row["learner_id"]]) for row in rows if row["learner_id"] in inserted]
    previous = {alert: status for learner, (alert, status) in open_alerts.items() if learner not in triggered}
    if previous:
        outcome.resolved = _resolve(rule, previous, now)
    return outcome
