"""Keep learner_standings fresh: the roster's figures per learner, written where the worker already
computes them (metric snapshots) and where alerts open or close, so reads never recompute."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from analytics.alert_rules import RuleInputs
from analytics.risk import risk_lights
from models import Alert, LearnerStanding
from models.metrics import STANDING_SORT_COLUMNS
from models.upsert import rows_of_ids, write_columns
from services.json_values import json_scalar

# The columns an evaluation writes: every roster figure but the open alert count (kept by the alert sweeps).
METRIC_COLUMNS = (*(c for c in STANDING_SORT_COLUMNS if c != "open_alerts"), "metrics_at", "updated_at")
ALERT_COLUMNS = ("open_alerts", "open_alert_rules", "updated_at")


def _numbers(values: np.ndarray, digits: int = 2) -> list[float | None]:
    """Each value as a JSON number rounded to `digits` (None: NaN or infinite), one conversion per array."""
    return [json_scalar(v, digits) for v in np.asarray(values, dtype=float).tolist()]


def risk_levels(probability: np.ndarray, has_data: np.ndarray) -> list[int | None]:
    """Traffic light index (0 green, 1 amber, 2 red) as the risk model gives it (analytics.risk.risk_lights);
    None (grey) without data, or when the model cannot tell yet (a NaN probability: too little history)."""
    light = risk_lights(probability)
    return [int(level) if ok and level >= 0 else None for level, ok in zip(light, np.asarray(has_data, dtype=bool))]


def write_standings(ids: Sequence[int], inputs: RuleInputs, now: datetime) -> None:
    """Upsert the metric columns for learners in sorted id order (the order `inputs` was built in)."""
    m = inputs.metrics
    # Grey: no score, never active and no attendance record: the probability would rest on absence alone.
    has_data = (m.assessments > 0) | np.isfinite(m.days_since_activity) | np.isfinite(m.attendance_percent)
    levels = risk_levels(inputs.risk_probability, has_data)
    known = [level is not None for level in levels]
    columns: dict[str, list[Any]] = {
        "learner_id": [int(learner) for learner in ids],
        "average": _numbers(m.average_score),
        "recent_average": _numbers(m.recent_average),
        "trend_direction": [int(t) if n > 0 else None for t, n in zip(m.trend_direction.tolist(), m.assessments)],
        "engagement": _numbers(m.engagement, 1),
        "attendance_percent": _numbers(m.attendance_percent, 1),
        "risk_level": levels,
        "risk_probability": [p if k else None for p, k in zip(_numbers(inputs.risk_probability, 4), known)],
    }
    constants = {"metrics_at": now, "updated_at": now}
    write_columns(LearnerStanding, columns, constants, ["learner_id"], list(METRIC_COLUMNS))


def refresh_open_alerts(learner_ids: Sequence[int]) -> None:
    """Recount these learners' unresolved alerts (one grouped query) into their standings rows, written as
    columns (one statement on PostgreSQL: a first sweep rewrites thousands of rows per shard)."""
    ids = sorted(set(int(i) for i in learner_ids))
    if not ids:
        return
    rules: dict[int, list[str]] = {learner: [] for learner in ids}
    query = sa.select(Alert.learner_id, Alert.rule).where(Alert.status != "resolved")
    for learner, rule in rows_of_ids(query, Alert.learner_id, ids):
        rules[learner].append(rule)
    columns: dict[str, list[Any]] = {
        "learner_id": ids,
        "open_alerts": [len(rules[learner]) for learner in ids],
        "open_alert_rules": [",".join(sorted(set(rules[learner])))[:1000] for learner in ids],
    }
    write_columns(LearnerStanding, columns, {"updated_at": datetime.now(UTC)}, ["learner_id"], list(ALERT_COLUMNS))
