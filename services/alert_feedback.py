"""Educators' verdicts on alerts and the per-rule quality report that closes the loop on them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from analytics.alert_quality import summarize_rule_quality
from models import FEEDBACK_VERDICTS, Alert, AlertFeedback, db
from services.json_values import json_scalar

RECOVERY_WINDOW_DAYS = 14.0


def record_feedback(alert_id: int, user_id: int, verdict: str, note: str | None) -> AlertFeedback:
    """Store (or replace) one person's verdict on an alert."""
    feedback = db.session.scalar(
        sa.select(AlertFeedback).where(AlertFeedback.alert_id == alert_id, AlertFeedback.user_id == user_id)
    )
    if feedback is None:
        feedback = AlertFeedback(alert_id=alert_id, user_id=user_id)
        db.session.add(feedback)
    feedback.verdict, feedback.note = verdict, note
    db.session.commit()
    return feedback


def _epoch(values: list[datetime | None]) -> np.ndarray:
    """Aware or naive-UTC datetimes to epoch seconds; None to NaN."""
    return np.array(
        [np.nan if v is None else (v if v.tzinfo else v.replace(tzinfo=UTC)).timestamp() for v in values],
        dtype=float,
    )


def quality_report(alerts: sa.Select, rule_names: list[str]) -> dict[str, Any]:
    """Per rule: raised, acknowledged, feedback counts, share judged useful, median hours to acknowledge,
    and recovery within 14 days after acknowledged vs unacknowledged alerts, over `alerts` (a query)."""
    scope = alerts.with_only_columns(Alert.id)
    rows = db.session.execute(
        sa.select(Alert.rule, Alert.created_at, Alert.acknowledged_at, Alert.resolved_at).where(Alert.id.in_(scope))
    ).all()
    names = sorted(set(rule_names) | {row.rule for row in rows})
    code = {name: i for i, name in enumerate(names)}
    figures = summarize_rule_quality(
        np.array([code[row.rule] for row in rows], dtype=np.int64),
        _epoch([row.created_at for row in rows]),
        _epoch([row.acknowledged_at for row in rows]),
        _epoch([row.resolved_at for row in rows]),
        len(names),
        datetime.now(UTC).timestamp(),
        RECOVERY_WINDOW_DAYS,
    )
    verdicts = db.session.execute(
        sa.select(Alert.rule, AlertFeedback.verdict, sa.func.count())
        .join(Alert, Alert.id == AlertFeedback.alert_id)
        .where(Alert.id.in_(scope))
        .group_by(Alert.rule, AlertFeedback.verdict)
    ).all()
    counts = {name: dict.fromkeys(FEEDBACK_VERDICTS, 0) for name in names}
    for rule, verdict, count in verdicts:
        counts[rule][verdict] = count
    return {
        "recovery_window_days": RECOVERY_WINDOW_DAYS,
        "rules": [_rule_json(name, i, figures, counts[name]) for i, name in enumerate(names)],
    }


def _rule_json(name: str, i: int, figures: Any, feedback: dict[str, int]) -> dict[str, Any]:
    given = sum(feedback.values())
    return {
        "rule": name,
        "raised": int(figures.raised[i]),
        "acknowledged": int(figures.acknowledged[i]),
        "feedback": feedback,
        "useful_share": round(feedback["useful"] / given, 4) if given else None,
        "median_hours_to_acknowledge": json_scalar(figures.median_hours_to_acknowledge[i], 2),
        "recovered_within_window": {
            "acknowledged": json_scalar(figures.recovered_when_acknowledged[i], 4),
            "not_acknowledged": json_scalar(figures.recovered_when_not_acknowledged[i], 4),
            "alerts_judged": {
                "acknowledged": int(figures.judged_acknowledged[i]),
                "not_acknowledged": int(figures.judged_not_acknowledged[i]),
            },
        },
    }
