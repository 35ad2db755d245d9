"""Evaluate the whole demo school in this process, as the worker and beat would over the next hours,
so alerts, snapshots, cohort charts and the risk model are there the moment seeding ends."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa

from models import Alert, db
from services.achievements import award_achievements
from services.analytics_data import load_event_arrays
from services.evaluation import update_learner_counters
from services.model_training import train_and_store_risk_model
from services.monitoring import (
    evaluate_rules,
    learner_ids_between,
    shard_ranges,
    store_cohort_snapshots,
    store_snapshots,
)

Bar = Callable[[Iterable[Any], str], AbstractContextManager[Iterable[Any]]]
CHUNK = 500  # learners per step: one vectorized pass each, and a progress bar that moves


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[offset : offset + CHUNK] for offset in range(0, len(ids), CHUNK)]


def evaluate_school(learner_ids: list[int], bar: Bar) -> dict[str, Any]:
    """Counters, risk model, the performance and engagement sweeps, snapshots, achievements and cohort snapshots."""
    ids = sorted(learner_ids)
    with bar(_chunks(ids), "Counters          ") as chunks:
        for chunk in chunks:
            update_learner_counters(chunk)
    version = train_and_store_risk_model()  # before the sweeps, so the at-risk rule uses this model
    ranges = [(low, high) for low, high in shard_ranges(CHUNK)]
    created = 0
    for sweep in ("performance", "engagement"):
        with bar(ranges, f"{sweep.capitalize()} sweep".ljust(18)) as shards:
            for low, high in shards:
                created += evaluate_rules(learner_ids_between(low, high), sweep).created
    with bar(_chunks(ids), "Snapshots         ") as chunks:
        for chunk in chunks:
            store_snapshots(chunk, "daily")
            store_snapshots(chunk, "velocity", with_completion=True)
            award_achievements(chunk, *load_event_arrays(chunk))  # as the worker does after each evaluation
    cohorts = store_cohort_snapshots()
    return {"alerts_created": created, "open_alerts": open_alerts_by_rule(), "cohorts": cohorts, "model": version}


def open_alerts_by_rule() -> dict[str, int]:
    """How many alerts and achievements are open, per rule."""
    query = sa.select(Alert.rule, sa.func.count()).where(Alert.status == "open").group_by(Alert.rule)
    return dict(sorted(db.session.execute(query).tuples()))
