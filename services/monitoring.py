"""Evaluate alert rules for a set of learners (a sweep shard, or the learners an event touched)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from analytics.alert_rules import RULES, RuleInputs, evaluate_many, needed_rules, rules_for
from analytics.cohort import DEFAULT_PASS_MARK
from analytics.completion import course_progress
from analytics.learner_metrics import EventArrays, LearnerMetrics, compute_learner_metrics
from analytics.risk import score_risk
from analytics.rule_inputs import build_rule_inputs
from models import Course, MetricSnapshot, Module, User, db
from models.queries import mapping
from models.upsert import write_columns
from services.alerting import known_alerts, sync_rule, type_fields
from services.analytics_data import load_attendance_percent, load_event_arrays
from services.clients import redis_client
from services.cohort_exams import refresh_exams_of
from services.cohorts import COHORT_SHARD_SECTIONS, refresh_sections_of, section_shards, snapshot_sections
from services.course_pace import course_priors
from services.json_values import json_scalar
from services.model_training import current_risk_model
from services.publisher import audience, publish
from services.rule_context import learner_time_zones, rule_context
from services.standings import refresh_open_alerts, write_standings
from services.thresholds import resolve_thresholds

SWEEPS = ("performance", "engagement", "velocity")


@dataclass
class MonitoringStats:
    learners: int = 0
    created: int = 0
    resolved: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    would_raise: list[dict[str, Any]] = field(default_factory=list)  # dry runs: what would be opened


def learner_ids_between(low: int, high: int) -> list[int]:
    """Active learners with low <= id < high."""
    return list(
        db.session.scalars(
            sa.select(User.id)
            .where(User.role == "learner", User.active.is_(True), User.id >= low, User.id < high)
            .order_by(User.id)
        )
    )


def shard_ranges(size: int) -> list[tuple[int, int]]:
    """Id ranges of at most `size` ids covering every learner."""
    low, high = db.session.execute(
        sa.select(sa.func.min(User.id), sa.func.max(User.id)).where(User.role == "learner")
    ).one()
    if low is None:
        return []
    return [(start, min(start + size, high + 1)) for start in range(low, high + 1, size)]


def build_inputs(
    ids: list[int],
    now: float,
    events: EventArrays | None = None,
    finish: Callable[[LearnerMetrics], LearnerMetrics] | None = None,
    module_ids: np.ndarray | None = None,
    modules_left: np.ndarray | None = None,
) -> RuleInputs:
    """Metrics, risk and the extra arrays the rules read, for learners in sorted id order.

    `events` replaces the event log (services.digests: the sweeps' digests; `finish` then adds what
    the digests keep apart from their events, `modules_left` what they stored at their build). With the
    log's events, `module_ids` (load_event_arrays') give each learner's modules left.
    """
    if events is None:
        events, module_ids = load_event_arrays(ids)
    metrics = compute_learner_metrics(events, now, load_attendance_percent(ids))
    metrics = finish(metrics) if finish else metrics
    model = current_risk_model()
    risk = score_risk(model, metrics.features(model.features))
    if module_ids is None:  # digests: the modules left they stored
        zones, left = learner_time_zones(ids), modules_left
    else:
        zones, left = rule_context(ids, events, module_ids)  # each learner's section/course zone; modules left
    return build_rule_inputs(events, metrics, risk.probability, now, zones, risk.model, left)


def evaluate_rules(
    learner_ids: Sequence[int],
    sweep: str,
    *,
    dry_run: bool = False,
    only_rule: str | None = None,
    now: datetime | None = None,
    prepared: RuleInputs | None = None,
) -> MonitoringStats:
    """Evaluate a sweep's rules for these learners, persist the alert changes and publish them.

    `prepared` reuses inputs already built by build_inputs for the same sorted learners.
    """
    now = now or datetime.now(UTC)
    ids = sorted(set(int(i) for i in learner_ids))
    stats = MonitoringStats(learners=len(ids))
    rules = [rule for rule in rules_for(sweep) if only_rule in (None, rule.name)]
    if not ids or not rules:
        return stats
    inputs = prepared or build_inputs(ids, now.timestamp())
    thresholds = resolve_thresholds(ids, needed_rules(rules))
    created, resolved = [], []
    results = evaluate_many(rules, inputs, thresholds)
    known = known_alerts(ids, results, now) if not dry_run else None
    for rule in rules:
        result = results[rule.name]
        if known is None:
            stats.would_raise += [{"learner_id": ids[i], "rule": rule.name} for i in np.flatnonzero(result.triggered)]
            continue
        outcome = sync_rule(rule, ids, result, now, known)
        created += outcome.created
        resolved += outcome.resolved
        stats.by_rule[rule.name] = len(outcome.created)
    if dry_run:
        db.session.rollback()
        return stats
    refresh_open_alerts([row["learner_id"] for row in created + resolved])  # the roster's alert columns
    db.session.commit()
    stats.created, stats.resolved = len(created), len(resolved)
    _publish_alerts(created, resolved)
    return stats


def _publish_alerts(created: list[dict[str, Any]], resolved: list[dict[str, Any]]) -> None:
    channels, names = audience(redis_client(), [row["learner_id"] for row in created + resolved])
    messages = []
    for row in created:
        data = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items() if k != "learner_id"}
        data["learner"] = names.get(row["learner_id"])
        data.update(type_fields(row["rule"]))
        messages.append(("alert", channels.get(row["learner_id"], []), data))
    for row in resolved:
        data = {
            "id": row["id"],
            "rule": row["rule"],
            "learner": names.get(row["learner_id"]),
            **type_fields(row["rule"]),
        }
        messages.append(("alert_resolved", channels.get(row["learner_id"], []), data))
    publish(redis_client(), messages)


def completion_forecasts(ids: list[int], now: float) -> dict[int, list[dict[str, Any]]]:
    """Per learner (index into sorted ids): a completion forecast for each course they work in."""
    events, module_ids = load_event_arrays(ids)
    modules = db.session.execute(sa.select(Module.id, Module.course_id).order_by(Module.id)).all()
    if not modules or not len(events.learner):
        return {}
    module_id = np.array([m for m, _ in modules])
    course_ids = sorted({c for _, c in modules})
    module_course = np.searchsorted(course_ids, [c for _, c in modules])
    known = (module_ids >= 0) & np.isin(module_ids, module_id)
    module = np.where(known, np.searchsorted(module_id, module_ids), -1)
    totals = np.bincount(module_course, minlength=len(course_ids))
    priors = course_priors(course_ids, datetime.fromtimestamp(now, UTC))
    prior = (np.array([priors[c][0] for c in course_ids]), np.array([priors[c][1] for c in course_ids]))
    progress = course_progress(events, module, module_course, totals, now, prior=prior)
    names = mapping(sa.select(Course.id, Course.external_id))
    out: dict[int, list[dict[str, Any]]] = {}
    f = progress.forecast
    for i, learner in enumerate(progress.learner):
        out.setdefault(int(learner), []).append(
            {
                "course": names[course_ids[progress.course[i]]],
                "modules_completed": int(progress.completed[i]),
                "modules_total": int(f.remaining[i] + progress.completed[i]),
                "median_days": json_scalar(float(f.median_days[i]), 2),
                "low_days": json_scalar(float(f.low_days[i]), 2),
                "high_days": json_scalar(float(f.high_days[i]), 2),
                "rate_per_week": round(float(f.rate_per_week[i]), 3),
            }
        )
    return out


def store_snapshots(
    learner_ids: Sequence[int],
    kind: str,
    now: datetime | None = None,
    publish_updates: bool = False,
    prepared: RuleInputs | None = None,
    with_completion: bool = False,
) -> int:
    """Save each learner's current metrics (history for trend charts); optionally publish them."""
    now = now or datetime.now(UTC)
    ids = sorted(set(int(i) for i in learner_ids))
    if not ids:
        return 0
    inputs = prepared or build_inputs(ids, now.timestamp())
    completion = completion_forecasts(ids, now.timestamp()) if with_completion else {}
    rows: list[dict[str, Any]] = []
    metric_rows = inputs.metrics.rows()
    for i, learner in enumerate(ids):
        row = {
            **metric_rows[i],
            "risk_probability": json_scalar(float(inputs.risk_probability[i]), 4),  # null: unknown
            "risk_model": inputs.risk_model,
            "snapshot": kind,
        }
        if with_completion:
            row["completion"] = completion.get(i, [])
        rows.append({"learner_id": learner, "taken_at": now, "metrics": row})
    write_columns(  # one statement for the shard (PostgreSQL), not one parameter set per row
        MetricSnapshot, {"learner_id": ids, "metrics": [row["metrics"] for row in rows]}, {"taken_at": now}
    )
    write_standings(ids, inputs, now)  # the roster reads these instead of recomputing
    db.session.commit()
    if publish_updates:
        channels, names = audience(redis_client(), ids, admin=False)
        publish(
            redis_client(),
            [
                (
                    "metrics_update",
                    channels.get(row["learner_id"], []),
                    {"learner": names[row["learner_id"]], **row["metrics"]},
                )
                for row in rows
            ],
        )
    if kind in ("event", "velocity"):  # after publishing: cohort state follows new events and time (throttled)
        refresh_sections_of(ids)
    if kind == "event":  # new grades at once, time at most every velocity period (services.cohort_exams)
        refresh_exams_of(ids)
    return len(rows)


def rule_names() -> list[str]:
    return sorted(RULES)


def store_cohort_snapshots(pass_mark: float = DEFAULT_PASS_MARK) -> int:
    """Each section's cohort aggregates as of now (the daily analytics task; dashboards chart them over days);
    the same computation refreshes the stored state the dashboards and cohort endpoints read. In this
    process, shard after shard (the beat fans the same shards out to the workers)."""
    now = datetime.now(UTC)
    return sum(snapshot_sections(shard, now, pass_mark) for shard in section_shards(COHORT_SHARD_SECTIONS))
