"""Recompute each learner's running counters from the event log, race-free per learner."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from analytics.school import ATTENDED_STATUSES, COUNTABLE_STATUSES
from models import HEARTBEAT_KIND, Attendance, Event, LearnerCounters, db
from models.upsert import insert_missing

PROGRESS_KINDS = ("module_completed", "assessment")


def _is(kind: str) -> Any:
    return sa.case((Event.kind == kind, 1), else_=0)


def _event_aggregates(learner_ids: list[int]) -> dict[int, dict[str, Any]]:
    assessment = Event.kind == "assessment"
    query = (
        sa.select(
            Event.learner_id,
            sa.func.count().label("events_seen"),
            sa.func.max(Event.id).label("last_event_id"),
            sa.func.sum(_is("activity")).label("activity_count"),
            sa.func.count(sa.distinct(sa.case((Event.kind == "module_completed", Event.module_id)))).label(
                "modules_completed"
            ),
            sa.func.sum(_is("assessment")).label("assessment_count"),
            sa.func.coalesce(sa.func.sum(sa.case((assessment, Event.score / Event.max_score))), 0.0).label(
                "score_ratio_sum"
            ),
            sa.func.sum(_is("grade")).label("grade_count"),
            sa.func.coalesce(sa.func.sum(Event.duration_seconds), 0.0).label("time_spent_seconds"),
            sa.func.max(sa.case((Event.kind != "attendance", Event.occurred_at))).label("last_activity_at"),
            sa.func.max(sa.case((Event.kind.in_(PROGRESS_KINDS), Event.occurred_at))).label("last_progress_at"),
        )
        .where(Event.learner_id.in_(learner_ids), Event.kind != HEARTBEAT_KIND)  # heartbeats are not activity
        .group_by(Event.learner_id)
    )
    return {row.learner_id: row._asdict() for row in db.session.execute(query)}


def _attendance_aggregates(learner_ids: list[int]) -> dict[int, tuple[int, int]]:
    query = (
        sa.select(
            Attendance.learner_id,
            sa.func.sum(sa.case((Attendance.status.in_(COUNTABLE_STATUSES), 1), else_=0)),
            sa.func.sum(sa.case((Attendance.status.in_(ATTENDED_STATUSES), 1), else_=0)),
        )
        .where(Attendance.learner_id.in_(learner_ids))
        .group_by(Attendance.learner_id)
    )
    return {learner_id: (total, attended) for learner_id, total, attended in db.session.execute(query)}


def _as_utc(value: Any) -> datetime | None:
    """SQLite returns aggregates over a CASE as text; normalise to aware datetimes."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def update_learner_counters(learner_ids: list[int]) -> int:
    """Recompute counters for these learners in one transaction; returns how many were updated.

    Each learner's counters row is locked first, so two evaluations of one learner run one
    after the other and the later one always sees at least what the earlier one saw.
    """
    ids = sorted(set(learner_ids))
    if not ids:
        return 0
    insert_missing(LearnerCounters, "learner_id", [{"learner_id": i} for i in ids])
    locked = (
        sa.select(LearnerCounters.learner_id)
        .where(LearnerCounters.learner_id.in_(ids))
        .order_by(LearnerCounters.learner_id)
    )
    if db.engine.dialect.name == "postgresql":
        locked = locked.with_for_update()
    db.session.execute(locked).all()
    events, attendance = _event_aggregates(ids), _attendance_aggregates(ids)
    now = datetime.now(UTC)
    rows = []
    for learner_id in ids:
        values = events.get(learner_id, {})
        total, attended = attendance.get(learner_id, (0, 0))
        rows.append(
            {
                "learner_id": learner_id,
                "events_seen": values.get("events_seen", 0),
                "last_event_id": values.get("last_event_id") or 0,
                "activity_count": values.get("activity_count") or 0,
                "modules_completed": values.get("modules_completed", 0),
                "assessment_count": values.get("assessment_count") or 0,
                "score_ratio_sum": float(values.get("score_ratio_sum") or 0.0),
                "grade_count": values.get("grade_count") or 0,
                "time_spent_seconds": float(values.get("time_spent_seconds") or 0.0),
                "attendance_count": total,
                "attendance_present": attended or 0,
                "last_activity_at": _as_utc(values.get("last_activity_at")),
                "last_progress_at": _as_utc(values.get("last_progress_at")),
                "last_evaluated_at": now,
            }
        )
    db.session.execute(sa.update(LearnerCounters), rows)
    db.session.commit()
    return len(rows)
