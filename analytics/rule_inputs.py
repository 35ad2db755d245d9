"""The per-learner arrays the alert rules read, built from flat event arrays for many learners at once."""

from __future__ import annotations

import numpy as np

from analytics.activity import days_since_last
from analytics.alert_rules import RuleInputs
from analytics.grouping import SECONDS_PER_DAY, segments
from analytics.learner_metrics import KIND_CODES, EventArrays, LearnerMetrics
from analytics.local_days import DAY_WINDOW, zoned_whole_day_counts
from analytics.stagnation import GapTest, open_gap_test


def days_without_module(events: EventArrays, now: float) -> np.ndarray:
    """Days since each learner's last module completion, or since their first activity if none; NaN if never active."""
    active_learner = events.learner[events.kind <= KIND_CODES["assessment"]]
    active_seg = segments(active_learner, events.n_learners)
    first = active_seg.reduce(np.minimum, events.time[events.kind <= KIND_CODES["assessment"]])
    done = events.kind == KIND_CODES["module_completed"]
    since_module = days_since_last(segments(events.learner[done], events.n_learners), events.time[done], now)
    return np.where(np.isnan(since_module), (now - first) / SECONDS_PER_DAY, since_module)


def completion_gaps(events: EventArrays, now: float) -> GapTest:
    """Each learner's open gap since their last module completion, tested against their own pace."""
    active = events.kind <= KIND_CODES["assessment"]
    first = segments(events.learner[active], events.n_learners).reduce(np.minimum, events.time[active], fill=np.nan)
    done = events.kind == KIND_CODES["module_completed"]
    return open_gap_test(segments(events.learner[done], events.n_learners), events.time[done], first, now)


def build_rule_inputs(
    events: EventArrays,
    metrics: LearnerMetrics,
    risk_probability: np.ndarray,
    now: float,
    zone: str | np.ndarray = "UTC",
    risk_model: str = "cold_start",
    modules_left: np.ndarray | None = None,
) -> RuleInputs:
    """Rule inputs; day-based values count whole days of `zone` (an IANA name, or one per learner) before today.

    `modules_left` (per learner, NaN unknown) lets completion_stagnation stay quiet for learners who
    have finished every module of their courses.
    """
    active = events.kind <= KIND_CODES["assessment"]
    active_seg = segments(events.learner[active], events.n_learners)
    assessed = events.kind == KIND_CODES["assessment"]
    zones = np.broadcast_to(np.asarray(zone, dtype=object), (events.n_learners,))
    days = zoned_whole_day_counts(active_seg, events.time[active], now, zones, DAY_WINDOW)
    left = np.full(events.n_learners, np.nan) if modules_left is None else np.asarray(modules_left, dtype=float)
    return RuleInputs(
        metrics,
        np.asarray(risk_probability, dtype=float),
        days.counts,
        days.history_days,
        segments(events.learner[assessed], events.n_learners),
        events.percent[assessed],
        days_without_module(events, now),
        active_seg.counts > 0,
        risk_model,
        completion_gaps(events, now),
        left,
    )
