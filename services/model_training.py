"""Train the risk model and fit BKT skill parameters on the platform's own history, and store them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np
import sqlalchemy as sa
from flask import current_app

from analytics.bkt import fit_bkt, replay, to_padded
from analytics.learner_metrics import compute_learner_metrics
from analytics.risk import FEATURES, RiskModel, cold_start_model, train_risk_model
from models import Enrollment, Event, RiskModelVersion, SkillMastery, SkillModel, db
from models.upsert import upsert_rows
from services.analytics_data import load_attendance_percent, load_event_arrays
from services.mastery import MASTERY_THRESHOLD
from services.skill_data import packed_attempts, write_mastery

FAILED_OR_DROPPED = ("failed", "dropped")
FIT_SEQUENCES = 20_000  # sequences per skill the EM fit reads (a fixed random sample beyond that)
FINISHED = ("failed", "dropped", "completed")


NEWEST_VERSION = (  # built once per process: every report reads it
    sa.select(RiskModelVersion.id, RiskModelVersion.trained_at, RiskModelVersion.kind)
    .order_by(RiskModelVersion.trained_at.desc(), RiskModelVersion.id.desc())
    .limit(1)
)


def current_risk_model() -> RiskModel:
    """The newest stored model, or the cold-start model before any training ran. Only the newest version's
    key is read per call: its model (a JSON document) is parsed once per process and version."""
    newest = db.session.execute(NEWEST_VERSION).first()
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
    model = train_risk_model(features, labels)
    version = RiskModelVersion(
        kind=model.kind,
        trained_at=now,
        model=model.to_dict(),
        quality=model.quality,
        samples=len(labels),
        positives=int(labels.sum()),
    )
    db.session.add(version)
    db.session.commit()
    return version


def skill_sequences(skill: str | None = None) -> dict[str, tuple[list[int], np.ndarray, np.ndarray]]:
    """Per skill: learner ids and padded correct/mask matrices of their attempts in time order."""
    query = (
        sa.select(Event.skill, Event.learner_id, Event.score, Event.max_score)
        .where(Event.kind == "assessment", Event.skill.is_not(None))
        .order_by(Event.skill, Event.learner_id, Event.occurred_at, Event.id)
    )
    if db.engine.dialect.name == "postgresql":
        return {name: _padded(*arrays) for name, arrays in packed_attempts(MASTERY_THRESHOLD, skill).items()}
    if skill is not None:
        query = query.where(Event.skill == skill)
    by_skill: dict[str, tuple[list[int], list[int], list[bool]]] = {}
    for name, learner_id, score, max_score in db.session.execute(query):
        learners, sequence, correct = by_skill.setdefault(name, ([], [], []))
        if not learners or learners[-1] != learner_id:
            learners.append(learner_id)
        sequence.append(len(learners) - 1)
        correct.append(100.0 * score / max_score >= MASTERY_THRESHOLD)
    return {
        name: (learners, *to_padded(np.array(sequence), np.array(correct)))
        for name, (learners, sequence, correct) in by_skill.items()
    }


def _padded(learner: np.ndarray, correct: np.ndarray) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Attempts sorted by learner then time -> learner ids and padded correct/mask matrices."""
    first = np.r_[True, learner[1:] != learner[:-1]] if len(learner) else np.zeros(0, dtype=bool)
    return (learner[first].tolist(), *to_padded(np.cumsum(first) - 1, correct))


def fit_sample(obs: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most FIT_SEQUENCES sequences (a fixed random sample) for EM: its cost grows with the sequences,
    while the four parameters are as well determined from tens of thousands of them as from millions."""
    if len(obs) <= FIT_SEQUENCES:
        return obs, mask
    pick = np.sort(np.random.default_rng(0).choice(len(obs), FIT_SEQUENCES, replace=False))
    return obs[pick], mask[pick]


def fit_and_store_skill_models() -> int:
    """EM-fit every skill's parameters, then rebuild every learner's mastery from history with them."""
    fitted = 0
    now = datetime.now(UTC)
    for skill, (learners, obs, mask) in skill_sequences().items():
        params = fit_bkt(*fit_sample(obs, mask))
        upsert_rows(
            SkillModel,
            ["skill"],
            [
                {
                    "skill": skill,
                    "p_init": params.p_init,
                    "p_learn": params.p_learn,
                    "p_guess": params.p_guess,
                    "p_slip": params.p_slip,
                    "log_likelihood": params.log_likelihood,
                    "sequences": len(learners),
                    "fitted_at": now,
                }
            ],
            ["p_init", "p_learn", "p_guess", "p_slip", "log_likelihood", "sequences", "fitted_at"],
        )
        mastery = replay(obs, mask, params)
        if db.engine.dialect.name == "postgresql":
            write_mastery(skill, learners, mastery, mask.sum(axis=1), (obs & mask).sum(axis=1), now)
            fitted += 1
            continue
        upsert_rows(
            SkillMastery,
            ["learner_id", "skill"],
            [
                {
                    "learner_id": learner_id,
                    "skill": skill,
                    "p_mastery": float(m),
                    "attempts": int(mask[i].sum()),
                    "correct": int((obs[i] & mask[i]).sum()),
                    "updated_at": now,
                }
                for i, (learner_id, m) in enumerate(zip(learners, mastery))
            ],
            ["p_mastery", "attempts", "correct", "updated_at"],
        )
        fitted += 1
    db.session.commit()
    return fitted
