"""The brief's trend analysis of one learner over a period: learning, performance, engagement,
productivity peaks, learning-style patterns, and insights."""

from __future__ import annotations

from typing import Any

import numpy as np

from analytics.activity import compute_consistency, weekly_counts
from analytics.grouping import SECONDS_PER_DAY
from analytics.patterns import WEEKDAYS
from analytics.progress_trends import content_mix, daily_series, moving_average, study_sessions, volatility
from services.json_values import json_scalar
from services.progress_context import LearnerContext, peaks
from services.progress_views import insights

TREND_TYPES = ("comprehensive", "performance", "engagement", "learning")
SECTIONS_OF_TYPE = {
    "performance": ("performance_trends",),
    "engagement": ("engagement_patterns", "productivity_peaks"),
    "learning": ("learning_trends", "learning_style_patterns"),
}


def _in_period(ctx: LearnerContext, days: int) -> np.ndarray:
    return ctx.events.time >= ctx.now - days * SECONDS_PER_DAY


def _values(array: np.ndarray) -> list[Any]:
    return [json_scalar(v) for v in array]


def learning_trends(ctx: LearnerContext, days: int) -> dict[str, Any]:
    """Modules and events per week across the period, and the pace of the last week against the average."""
    e = ctx.events
    series = daily_series(e.time, e.kind, e.percent, ctx.now, days)
    modules_weekly = weekly_counts(series.modules[None, :])[0]
    events_weekly = weekly_counts(series.events[None, :])[0]
    weeks = max(len(modules_weekly), 1)
    return {
        "modules_completed": int(series.modules.sum()),
        "modules_per_week": _values(modules_weekly),
        "events_per_week": _values(events_weekly),
        "average_modules_per_week": round(float(series.modules.sum()) / max(days / 7.0, 1.0), 3),
        "last_week_modules": int(modules_weekly[-1]) if len(modules_weekly) else 0,
        "weeks": weeks,
    }


def performance_trends(ctx: LearnerContext, days: int) -> dict[str, Any]:
    """Daily mean scores with 7- and 14-day moving averages, volatility, and the fitted slope."""
    e = ctx.events
    series = daily_series(e.time, e.kind, e.percent, ctx.now, days)
    scores = e.percent[_in_period(ctx, days)]
    age_weeks = (ctx.now - e.time) // (7 * SECONDS_PER_DAY)
    weekly_volatility = [volatility(e.percent[age_weeks == w]) for w in reversed(range(max(days // 7, 1)))]
    return {
        "daily_average": _values(series.average_score),
        "moving_average_7d": _values(moving_average(series.average_score, 7)),
        "moving_average_14d": _values(moving_average(series.average_score, 14)),
        "volatility": json_scalar(volatility(scores)),
        "weekly_volatility": _values(np.array(weekly_volatility)),
        "assessments": int((~np.isnan(scores)).sum()),
        "average_score": json_scalar(float(np.nanmean(scores)) if (~np.isnan(scores)).any() else float("nan")),
        "slope_per_day": json_scalar(ctx.metric("score_slope_per_day")),
        "first_day": _iso_day(series.first_day),
    }


def _iso_day(epoch: float) -> str:
    return str(np.datetime64(int(epoch), "s").astype("datetime64[D]"))


def engagement_patterns(ctx: LearnerContext, days: int) -> dict[str, Any]:
    """Consistency (share of active days, regularity) and the weekday pattern over the period."""
    e = ctx.events
    series = daily_series(e.time, e.kind, e.percent, ctx.now, days)
    consistency = compute_consistency(series.events[None, :])
    in_period = _in_period(ctx, days)
    weekday = (np.floor(e.time[in_period] / SECONDS_PER_DAY).astype(np.int64) + 3) % 7
    return {
        "active_days": int((series.events > 0).sum()),
        "active_day_share": round(float(consistency.active_day_share[0]), 4),
        "consistency": json_scalar(float(consistency.score[0])),
        "regularity": json_scalar(float(consistency.regularity[0])),
        "current_streak": int(ctx.metric("current_streak")),
        "longest_streak": int(ctx.metric("longest_streak")),
        "weekly_pattern": dict(zip(WEEKDAYS, np.bincount(weekday, minlength=7).tolist())),
        "engagement_score": json_scalar(ctx.metric("engagement")),
    }


def learning_style_patterns(ctx: LearnerContext, days: int) -> dict[str, Any]:
    """Preferred time of day, study session length and the mix of content kinds in the period."""
    e = ctx.events
    in_period = _in_period(ctx, days)
    sessions = study_sessions(e.time[in_period], days)
    return {
        "preferred_time_of_day": peaks(ctx)["peak_period"],
        "sessions": sessions.count,
        "sessions_per_week": round(sessions.per_week, 2),
        "median_session_minutes": json_scalar(sessions.median_minutes),
        "mean_session_minutes": json_scalar(sessions.mean_minutes),
        "content_mix": {k: round(v, 4) for k, v in content_mix(e.kind[in_period]).items()},
    }


def trend_analysis(ctx: LearnerContext, days: int, kind: str, for_learner: bool) -> dict[str, Any]:
    """The sections for `kind` (comprehensive: all), with insights."""
    builders = {
        "learning_trends": learning_trends,
        "performance_trends": performance_trends,
        "engagement_patterns": engagement_patterns,
        "productivity_peaks": lambda c, _d: peaks(c),
        "learning_style_patterns": learning_style_patterns,
    }
    wanted = SECTIONS_OF_TYPE.get(kind, tuple(builders))
    return {
        "period_days": days,
        "type": kind,
        **{name: builders[name](ctx, days) for name in wanted},
        "insights": insights(ctx, for_learner),
    }
