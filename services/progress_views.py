"""The brief's learner views: dashboard summary, real-time metrics, 30-day trends, predictions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from analytics.alert_rules import RULES
from analytics.grouping import SECONDS_PER_DAY
from analytics.insights import learner_insights
from analytics.progress_trends import daily_series, moving_average
from analytics.scores import DIRECTION_NAMES
from services.json_values import json_scalar
from services.progress_context import LearnerContext, insight_facts, level, loaded, progress_percentage
from services.reports import learner_report

ENGAGEMENT_LABELS = ((70.0, "high"), (40.0, "moderate"), (0.0, "low"))
ACTIVITY_CHANGE = 0.2  # a week with 20% more (fewer) events than the one before is increasing (decreasing)
FACTOR_RULES = {  # which rule's advice fits a risk factor
    "average_score": "performance_decline",
    "recent_average": "performance_decline",
    "score_slope": "declining_trend",
    "baseline_z": "baseline_decline",
    "activities_per_day": "engagement_drop",
    "days_since_activity": "engagement_drop",
    "engagement": "engagement_drop",
    "active_day_share": "low_consistency",
    "days_since_progress": "completion_stagnation",
    "modules_per_week": "completion_stagnation",
}
PREDICTION_CONFIDENCE = (
    "score_forecast: 1 - width of the 90% prediction interval / 100, so 0 means the interval spans the whole "
    "0-100 scale (too little or too noisy data) and 1 a sharp forecast; trend_significance: 1 - p-value of the "
    "score trend's slope; data_sufficiency: 0 at 2 scores, 1 from 10 scores up"
)


def engagement_label(score: float) -> str:
    """high (>= 70), moderate (>= 40) or low engagement, from the 0-100 engagement score."""
    return next(label for edge, label in ENGAGEMENT_LABELS if (0.0 if math.isnan(score) else score) >= edge)


def progress_summary(ctx: LearnerContext) -> dict[str, Any]:
    """The brief's progress_summary, with the level rule's index beside it."""
    name, index = level(ctx)
    percent = progress_percentage(ctx)
    return {
        "overall_progress": None if percent is None else round(percent / 100.0, 4),
        "modules_completed": ctx.modules_completed,
        "total_modules": ctx.total_modules,
        "progress_percentage": percent,
        "current_level": name,
        "level_index": index,
        "streak_days": int(ctx.metric("current_streak")),
        "longest_streak_days": int(ctx.metric("longest_streak")),
    }


def _activity_trend(events: np.ndarray) -> str:
    """Compare the last 7 days with the 7 before them."""
    last, before = int(events[-7:].sum()), int(events[-14:-7].sum())
    if last > before * (1 + ACTIVITY_CHANGE):
        return "increasing"
    if last < before * (1 - ACTIVITY_CHANGE):
        return "decreasing"
    return "steady"


def realtime_metrics(ctx: LearnerContext) -> dict[str, Any]:
    """Today's and this week's counts, averages, engagement and trends."""
    e = ctx.events
    series = daily_series(e.time, e.kind, e.percent, ctx.now, 14)
    engagement = ctx.metric("engagement")
    return {
        "daily_activities": int(series.events[-1]),
        "daily_assessments": int(series.assessments[-1]),
        "weekly_assessments": int(series.assessments[-7:].sum()),
        "weekly_activities": int(series.events[-7:].sum()),
        "average_score": json_scalar(ctx.metric("average_score")),
        "average_recent_score": json_scalar(ctx.metric("recent_average")),
        "engagement_level": engagement_label(engagement),
        "engagement_score": json_scalar(engagement),
        "performance_trend": DIRECTION_NAMES[int(ctx.metrics.trend_direction[0])],
        "activity_trend": _activity_trend(series.events),
        "attendance_percent": json_scalar(ctx.metric("attendance_percent")),
    }


def performance_trends(ctx: LearnerContext, days: int = 30) -> list[dict[str, Any]]:
    """One row per UTC day, oldest first: mean score, its 7-day moving average, counts."""
    e = ctx.events
    series = daily_series(e.time, e.kind, e.percent, ctx.now, days)
    smooth = moving_average(series.average_score, 7)
    return [
        {
            "date": _day(series.first_day + i * SECONDS_PER_DAY),
            "average_score": json_scalar(series.average_score[i]),
            "moving_average_7d": json_scalar(smooth[i]),
            "assessments": int(series.assessments[i]),
            "activities": int(series.events[i]),
            "modules_completed": int(series.modules[i]),
        }
        for i in range(days)
    ]


def _day(epoch: float) -> str:
    return np.datetime64(int(epoch), "s").astype("datetime64[D]").astype(str)


def insights(ctx: LearnerContext, for_learner: bool, completion: list[dict[str, Any]] | None = None) -> list[str]:
    """Sentences for the reader (the learner, or an educator reading about them)."""
    upcoming = sorted(
        (c for c in completion or [] if c.get("predicted_completion")), key=lambda c: c["predicted_completion"]
    )
    nxt = (upcoming[0]["course"], upcoming[0]["predicted_completion"]) if upcoming else None
    return learner_insights(insight_facts(ctx, nxt), for_learner)


def dashboard(ctx: LearnerContext, for_learner: bool) -> dict[str, Any]:
    """The real-time dashboard minus the recent activities (the API adds those as stored events)."""
    return {
        "progress_summary": progress_summary(ctx),
        "realtime_metrics": realtime_metrics(ctx),
        "performance_trends": performance_trends(ctx),
        "insights": insights(ctx, for_learner),
    }


def _recommendations(report: dict[str, Any], open_rules: list[str]) -> list[dict[str, str]]:
    """Advice of the learner's open alerts' rules, then of the rules their top risk factors point at."""
    out = [{"source": f"alert:{rule}", "text": text} for rule in open_rules for text in RULES[rule].recommendations]
    for factor in report["risk"]["top_factors"]:
        rule = FACTOR_RULES.get(factor["feature"])
        if rule and rule not in open_rules:
            out += [{"source": f"risk_factor:{factor['feature']}", "text": t} for t in RULES[rule].recommendations[:1]]
    return out


def predictive(ctx: LearnerContext, horizon: int, for_learner: bool, open_rules: list[str]) -> dict[str, Any]:
    """Score forecast with its interval, completion forecasts with intervals, risk and advice."""
    report = learner_report(ctx.learner, float(horizon), None, loaded(ctx))
    low, high = report["forecast"]["interval"]
    sharpness = None if low is None or high is None else round(max(0.0, 1.0 - (high - low) / 100.0), 4)
    return {
        "horizon_days": horizon,
        "performance_forecast": {
            **report["forecast"],
            "current_average": json_scalar(ctx.metric("recent_average")),
            "trend": report["trend"],
        },
        "completion_predictions": report["completion"],
        "risk_factors": report["risk"],
        "recommendations": _recommendations(report, open_rules),
        "prediction_confidence": {
            "score_forecast": sharpness,
            "trend_significance": report["trend"]["confidence"],
            "data_sufficiency": report["trend"]["confidence_points"],
            "completion_level": report["completion"][0]["level"] if report["completion"] else None,
            "meaning": PREDICTION_CONFIDENCE,
        },
        "insights": insights(ctx, for_learner, report["completion"]),
    }
