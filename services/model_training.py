"""Train the risk model on the platform's own outcomes and store it (the BKT refit: services.skill_refit)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app

from analytics.learner_metrics import compute_learner_metrics
from analytics.risk import FEATURES, RiskModel, cold_start_model, train_risk_model
from models import Enrollment, RiskModelVersion, db
from services.analytics_data import load_attendance_percent, load_event_arrays

FAILED_OR_DROPPED = ("failed", "dropped")
FINISHED = ("failed", "dropped", "completed")


NEWEST_VERSION = (  # built once per process: every report reads it
    sa.select(RiskModelVersion.id, RiskModelVersion.trained_at, RiskModelVersion.kind)
    .order_by(RiskModelVersion.trained_at.desc(), RiskModelVersion.id.desc())
    .limit(1)
)


def current_risk_model() -> RiskModel:
    """The newest stored model, or the cold-start model before any training ran. Only the newest version's
    key is read per call: its model (a JSON document) is parsed once per process and version."""
    return risk_model_of(db.session.execute(NEWEST_VERSION).first())


def risk_model_of(newest: Any) -> RiskModel:
    """The model of the newest version as NEWEST_VERSION reads it (None: no version stored), parsed once per
    process and version."""
    if newest is None or newest.kind == "cold_start":  # a stored cold start may predate the current one
        return cold_start_model()
    cache = current_app.extensions.setdefault("risk_model", {})
    key = (newest.id, newest.trained_at)
    if key not in cache:
        cache.clear()
        cache[key] = RiskModel.from_dict(db.session.get_one(RiskModelVersion, newest.id).model)
    return cache[key]


def labelled_learners() -> tuple[list[int], np.ndarray]:
    """Learners whose enrollments have an outcome; label 1 if any enrollment failed or was dropped."""
    rows = db.session.execute(
        sa.select(Enrollment.learner_id, Enrollment.status).where(Enrollment.status.in_(FINISHED))
    )
    outcome: dict[int, int] = {}
    for learner_id, status in rows:
        outcome[learner_id] = max(outcome.get(learner_id, 0), int(status in FAILED_OR_DROPPED))
    ids = sorted(outcome)
    return ids, np.array([outcome[i] for i in ids], dtype=int)


Features = Callable[[Sequence[int], float], np.ndarray]  # sorted learner ids, now -> their FEATURES matrix


def log_features(ids: Sequence[int], now: float) -> np.ndarray:
    """The risk features of these learners (sorted) from their whole event log."""
    events, _ = load_event_arrays(ids)
    return compute_learner_metrics(events, now, load_attendance_percent(ids)).features()


def train_and_store_risk_model(now: datetime | None = None, features_of: Features = log_features) -> RiskModelVersion:
    """Fit on every learner with an outcome (cold start below the minimum) and record the version; the daily
    task passes services.daily_digests.digest_features (the same features from the kept digests)."""
    now = now or datetime.now(UTC)
    ids, labels = labelled_learners()
    if ids:
        features = features_of(ids, now.timestamp())
    else:
        features = np.empty((0, len(FEATURES)))
    return store_risk_model(train_risk_model(features, labels), now, labels)


def store_risk_model(model: RiskModel, trained_at: datetime, labels: np.ndarray) -> RiskModelVersion:
    """Record a fitted model as the newest version (committed): the next report or dashboard open uses it."""
    version = RiskModelVersion(
        kind=model.kind,
        trained_at=trained_at,
        model=model.to_dict(),
        quality=model.quality,
        samples=len(labels),
        positives=int(labels.sum()),
    )
    db.session.add(version)
    db.session.commit()
    return version
