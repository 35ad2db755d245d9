"""What the daily task reads from the learner digests: the risk features for retraining and the metric
snapshots, each computed from the kept digests instead of the event log (services.digests keeps them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from analytics.learner_metrics import compute_learner_metrics
from analytics.risk import FEATURES
from services.analytics_data import load_attendance_percent
from services.digests import digest_events, digest_inputs, watermark
from services.monitoring import store_snapshots


def digest_features(learner_ids: Sequence[int], now: float, span: int = 20_000) -> np.ndarray:
    """The risk features of these learners (sorted) from their digests, as services.model_training.log_features
    gives them from the whole log (the daily retraining: digests of the labelled learners instead of their
    history). Read by ranges of `span` ids (a packed read returns every digest in its range: a few MB);
    digests with events newer than the last sweep's watermark are rebuilt first, as a sweep does."""
    ids = np.asarray(sorted(set(int(i) for i in learner_ids)), dtype=np.int64)
    since = watermark()
    parts = [np.empty((0, len(FEATURES)))]
    for block in np.split(ids, np.flatnonzero(np.diff(ids // span)) + 1) if len(ids) else []:
        part = block.tolist()
        events, finish = digest_events(part, now, since)
        parts.append(finish(compute_learner_metrics(events, now, load_attendance_percent(part))).features())
    return np.concatenate(parts)


def daily_snapshots(learner_ids: Sequence[int], since: int) -> int:
    """The daily metric snapshots of these learners, computed from their digests."""
    ids = sorted(set(int(i) for i in learner_ids))
    now = datetime.now(UTC)
    if not ids:
        return 0
    return store_snapshots(ids, "daily", now=now, prepared=digest_inputs(ids, now.timestamp(), since=since))
