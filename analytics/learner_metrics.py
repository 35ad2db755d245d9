"""All per-learner metrics from one set of flat event arrays: what dashboards, rules and the risk model read."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from analytics import activity, scores
from analytics.grouping import Segments, segments, take_where

KIND_CODES = {"activity": 0, "module_completed": 1, "assessment": 2, "grade": 3, "attendance": 4}
ENGAGEMENT_KINDS = (0, 1, 2)  # what counts as being active (the codes below 3)
PROGRESS_KINDS = (1, 2)  # what counts as progress: module completions and assessments


@dataclass(frozen=True)
class EventArrays:
    """Events of many learners as parallel arrays, sorted by (learner, time)."""

    n_learners: int
    learner: np.ndarray  # int64
    time: np.ndarray  # float64 epoch seconds
    kind: np.ndarray  # int8, KIND_CODES
    percent: np.ndarray  # float64: 100 * score / max_score for assessments, NaN otherwise

    def subset(self, mask: np.ndarray) -> tuple[Segments, np.ndarray]:
        """Segments and times of the events selected by mask (order is preserved)."""
        if mask.all():  # e.g. every event counts as activity: no copy needed
            return segments(self.learner, self.n_learners), self.time
        learner, time = take_where(mask, self.learner, self.time)
        return segments(learner, self.n_learners), time


@dataclass(frozen=True)
class MetricSettings:
    recent_n: int = scores.DEFAULT_RECENT_N
    trend_threshold: float = scores.DEFAULT_TREND_THRESHOLD
    baseline_k: int = 3
    window_days: int = 28
    consistency_days: int = 7
    half_life_days: float = 7.0


@dataclass(frozen=True)
class LearnerMetrics:
    """One array per metric, indexed by learner."""

    assessments: np.ndarray
    average_score: np.ndarray
    recent_average: np.ndarray
    best_score: np.ndarray
    worst_score: np.ndarray
    volatility: np.ndarray
    score_slope: np.ndarray  # points per assessment
    score_slope_per_day: np.ndarray
    trend_direction: np.ndarray  # -1, 0, 1
    trend_p_value: np.ndarray
    trend_confidence_points: np.ndarray
    baseline_z: np.ndarray
    baseline_drop: np.ndarray
    activities_per_day: np.ndarray
    activities_per_day_weighted: np.ndarray
    modules_per_week: np.ndarray
    modules_per_week_weighted: np.ndarray
    current_streak: np.ndarray
    longest_streak: np.ndarray
    active_day_share: np.ndarray  # over consistency_days
    consistency: np.ndarray  # 0-100 over consistency_days
    regularity: np.ndarray
    engagement: np.ndarray  # 0-100
    days_since_activity: np.ndarray
    days_since_progress: np.ndarray
    attendance_percent: np.ndarray

    def features(self, names: tuple[str, ...] | None = None) -> np.ndarray:
        """A risk model's feature matrix: the columns `names` (a model's .features), analytics.risk.FEATURES by default."""
        if names is None:
            from analytics.risk import FEATURES  # noqa: PLC0415  (avoid a cycle at import)

            names = FEATURES
        return np.column_stack([np.asarray(getattr(self, name), dtype=float) for name in names])

    def rows(self) -> list[dict[str, Any]]:
        """Every learner's row() at once (one conversion per metric instead of one per value)."""
        columns = {}
        for field in fields(self):
            values = getattr(self, field.name).tolist()
            columns[field.name] = [None if isinstance(v, float) and v != v else v for v in values]  # NaN -> None
        names = list(columns)
        return [dict(zip(names, values)) for values in zip(*columns.values())]

    def row(self, index: int) -> dict[str, Any]:
        """One learner's metrics as plain JSON-ready values (NaN -> None)."""
        out = {}
        for field in fields(self):
            value = getattr(self, field.name)[index].item()
            out[field.name] = None if isinstance(value, float) and np.isnan(value) else value
        return out


def _score_metrics(events: EventArrays, settings: MetricSettings) -> tuple[dict[str, np.ndarray], scores.ScoreTrends]:
    """Assessment statistics, trend and decline against the learner's own baseline; and the trends themselves."""
    assessed = events.kind == KIND_CODES["assessment"]
    assess_seg, assess_time = events.subset(assessed)
    (percent,) = take_where(assessed, events.percent)
    stats = scores.compute_score_stats(assess_seg, percent, settings.recent_n)
    trends = scores.compute_score_trends(assess_seg, assess_time, percent, settings.trend_threshold)
    decline = scores.compute_baseline_decline(assess_seg, percent, settings.baseline_k)
    figures = {
        "assessments": stats.count,
        "average_score": stats.average,
        "recent_average": stats.recent_average,
        "best_score": stats.best,
        "worst_score": stats.worst,
        "volatility": stats.volatility,
        "score_slope": trends.per_assessment.slope,
        "score_slope_per_day": trends.per_day.slope,
        "trend_direction": trends.direction,
        "trend_p_value": trends.per_assessment.p_value,
        "trend_confidence_points": trends.confidence_points,
        "baseline_z": decline.z,
        "baseline_drop": decline.drop,
    }
    return figures, trends


def _activity_metrics(events: EventArrays, now: float, settings: MetricSettings) -> dict[str, np.ndarray]:
    """Velocity, streaks, consistency, engagement and recency of activity and progress."""
    assessed, completed = events.kind == KIND_CODES["assessment"], events.kind == KIND_CODES["module_completed"]
    active_seg, active_time = events.subset(events.kind <= max(ENGAGEMENT_KINDS))  # codes 0, 1, 2
    module_seg, module_time = events.subset(completed)
    progress_seg, progress_time = events.subset(assessed | completed)
    daily = activity.daily_counts(active_seg, active_time, now, settings.window_days)
    consistency = activity.compute_consistency(daily[:, -settings.consistency_days :])
    velocity = activity.compute_velocity(
        active_seg, active_time, module_seg, module_time, now, settings.window_days, settings.half_life_days
    )
    streaks = activity.compute_streaks(active_seg, active_time, now)
    since_activity = activity.days_since_last(active_seg, active_time, now)
    engagement = activity.compute_engagement(
        velocity.activities_per_day,
        activity.compute_consistency(daily).active_day_share,
        since_activity,
        velocity.modules_per_week,
    )
    return {
        "activities_per_day": velocity.activities_per_day,
        "activities_per_day_weighted": velocity.activities_per_day_weighted,
        "modules_per_week": velocity.modules_per_week,
        "modules_per_week_weighted": velocity.modules_per_week_weighted,
        "current_streak": streaks.current,
        "longest_streak": streaks.longest,
        "active_day_share": consistency.active_day_share,
        "consistency": consistency.score,
        "regularity": consistency.regularity,
        "engagement": engagement,
        "days_since_activity": since_activity,
        "days_since_progress": activity.days_since_last(progress_seg, progress_time, now),
    }


def learner_metrics_and_trends(
    events: EventArrays,
    now: float,
    attendance_percent: np.ndarray | None = None,
    settings: MetricSettings = MetricSettings(),
) -> tuple[LearnerMetrics, scores.ScoreTrends]:
    """compute_learner_metrics and the score trends it fitted on the way (with settings.trend_threshold), so a
    report that shows the trend does not fit it again."""
    attendance = (
        np.full(events.n_learners, np.nan)
        if attendance_percent is None
        else np.asarray(attendance_percent, dtype=float)
    )
    figures, trends = _score_metrics(events, settings)
    return LearnerMetrics(**figures, **_activity_metrics(events, now, settings), attendance_percent=attendance), trends


def compute_learner_metrics(
    events: EventArrays,
    now: float,
    attendance_percent: np.ndarray | None = None,
    settings: MetricSettings = MetricSettings(),
) -> LearnerMetrics:
    """Every per-learner metric for all learners at once (no loop over learners)."""
    return learner_metrics_and_trends(events, now, attendance_percent, settings)[0]
