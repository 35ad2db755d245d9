"""Analytics reports for the API: one learner in depth, or a cohort of learners in aggregate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa

from analytics import cohort as cohort_analytics
from analytics.activity import daily_counts, weekly_counts
from analytics.bkt import MASTERED_AT, replay_each, to_padded
from analytics.forecast import forecast_completion, forecast_recent_scores, gap_dispersion
from analytics.grouping import SECONDS_PER_DAY, segments
from analytics.learner_metrics import KIND_CODES, LearnerMetrics
from analytics.patterns import PERIODS, WEEKDAYS, compute_patterns, patterns_of
from analytics.report_digest import ReportDigest
from analytics.risk import score_risk
from analytics.scores import DIRECTION_NAMES, ScoreTrends, compute_score_trends
from models import Exam, Grade, Subject, db
from services.cohort_members import compute_figures, summarize
from services.course_history import course_history
from services.course_pace import cached_course_priors
from services.json_values import json_scalar
from services.learner_loading import Learner, LoadedLearner, load_learner, load_learner_digest
from services.mastery import skill_params
from services.mastery_rows import stored_mastery, unstored_attempts
from services.model_training import current_risk_model

LIGHTS = cohort_analytics.TRAFFIC_LIGHTS
FORECAST_LEVEL = 0.9
FORECAST_WINDOW = 8  # scores: the forecast extrapolates the recent trend
COMPLETION_LEVEL = 0.8


def risk_json(model, features: np.ndarray, index: int = 0) -> dict[str, Any]:
    """One learner's risk as every view shows it: probability (null: too little data), light, model, factors."""
    risk = score_risk(model, features)
    factors = [
        {
            "feature": model.features[i],
            "value": json_scalar(features[index, i]),
            "contribution": round(float(risk.contributions[index, i]), 4),
        }
        for i in risk.top_factors[index]
        if i >= 0
    ]
    light = int(risk.light[index])
    return {
        "probability": json_scalar(float(risk.probability[index]), 4),  # null: too little data to say
        "light": LIGHTS[light] if light >= 0 else "grey",  # grey: too little data to tell (probability null)
        "model": risk.model,
        "top_factors": factors,
    }


def _trend_and_forecast(
    events, now: float, horizon_days: float, trends: ScoreTrends | None = None
) -> tuple[dict, dict]:
    """The score trend (`trends`: compute_score_trends' for these events, when the caller has it) and forecast."""
    assessed = events.kind == KIND_CODES["assessment"]
    seg, times = segments(events.learner[assessed], events.n_learners), events.time[assessed]
    trends = compute_score_trends(seg, times, events.percent[assessed]) if trends is None else trends
    fit = trends.per_assessment
    trend = {
        "direction": DIRECTION_NAMES[int(trends.direction[0])],
        "slope_per_assessment": json_scalar(fit.slope[0]),
        "slope_per_day": json_scalar(trends.per_day.slope[0]),
        "stderr": json_scalar(fit.stderr[0]),
        "p_value": json_scalar(fit.p_value[0]),
        "confidence": json_scalar(trends.confidence[0]),  # deprecated: 1 - p-value
        "confidence_points": json_scalar(trends.confidence_points[0]),
        "probability_declining": json_scalar(trends.probability_declining[0], 4),
        "probability_improving": json_scalar(1.0 - trends.probability_declining[0], 4),
        "points": int(fit.points[0]),
    }
    forecast = forecast_recent_scores(
        seg, times, events.percent[assessed], now, FORECAST_WINDOW, horizon_days, FORECAST_LEVEL
    )
    bounded = forecast.bounded is not None and bool(forecast.bounded[0])
    changed = forecast.probability_changed is not None and bool(forecast.probability_changed[0] >= 0.5)
    fitted = int(min(seg.counts[0], FORECAST_WINDOW if bounded else 2 * FORECAST_WINDOW))
    return trend, {
        "horizon_days": horizon_days,
        "from_date": _date_after(now, 0.0),
        "target_date": _date_after(now, horizon_days),  # the horizon counts from today
        "fitted_scores": fitted,  # scores the forecast read: the bend model's 2 * FORECAST_WINDOW, the bounded line's 8
        "predicted_score": json_scalar(forecast.predicted[0]),
        "interval": [json_scalar(forecast.low[0]), json_scalar(forecast.high[0])],
        "level": FORECAST_LEVEL,
        # straight / bend: the model average over bends (analytics.change_point) says the trend more likely did
        # not / did change inside the fitted scores; bounded: the recent line would cross 0 or 100, so the trend
        # bends toward the bound
        "trend_model": "bounded" if bounded else "bend" if changed else "straight",
    }


def _activity_counts(events, now: float, days: int = 28) -> dict[str, Any]:
    """Events per UTC day for the last `days` days (oldest first) and per whole week."""
    active = events.kind <= KIND_CODES["assessment"]
    daily = daily_counts(segments(events.learner[active], events.n_learners), events.time[active], now, days)
    first = datetime.fromtimestamp(now, UTC).date() - timedelta(days=days - 1)
    return {"first_day": first.isoformat(), "daily": daily[0].tolist(), "weekly": weekly_counts(daily)[0].tolist()}


def _patterns(loaded: LoadedLearner) -> dict[str, Any]:
    """When the learner works, over the whole history (kept as histograms in a digest's report figures)."""
    if loaded.whole is not None:
        patterns = patterns_of(loaded.whole.by_hour[None, :], loaded.whole.by_weekday[None, :])
    else:
        events = loaded.events
        active = events.kind <= KIND_CODES["assessment"]
        patterns = compute_patterns(segments(events.learner[active], events.n_learners), events.time[active])
    has = patterns.peak_hour[0] >= 0
    return {
        "by_hour": patterns.by_hour[0].tolist(),
        "by_weekday": patterns.by_weekday[0].tolist(),
        "peak_hour": int(patterns.peak_hour[0]) if has else None,
        "peak_weekday": WEEKDAYS[patterns.peak_weekday[0]] if has else None,
        "peak_period": PERIODS[patterns.peak_period[0]] if has else None,
    }


def _completion(loaded: LoadedLearner, deadline_days: float | None) -> list[dict[str, Any]]:
    """Per course the learner worked in: a Gamma-Poisson completion forecast."""
    history, totals, names = course_history(loaded)
    if not totals:
        return []
    now = loaded.now
    priors = cached_course_priors(sorted(totals), datetime.fromtimestamp(now, UTC))
    out = []
    for course in sorted(totals):
        completed, first, finished = history[course]
        forecast = forecast_completion(
            np.array([completed]),
            np.array([totals[course]]),
            np.array([(now - first) / SECONDS_PER_DAY]),
            deadline_days if deadline_days is not None else 0.0,
            gap_dispersion(np.zeros(len(finished), dtype=np.int64), finished, 1),
            COMPLETION_LEVEL,
            *priors[course],
        )
        when = lambda days: _date_after(now, days)  # noqa: E731
        out.append(
            {
                "course": names[course],
                "modules_total": totals[course],
                "modules_completed": completed,
                "rate_per_week": round(float(forecast.rate_per_week[0]), 3),
                "predicted_completion": when(forecast.median_days[0]),
                "interval": [when(forecast.low_days[0]), when(forecast.high_days[0])],
                "level": COMPLETION_LEVEL,
                "probability_by_deadline": json_scalar(forecast.probability_by_deadline[0])
                if deadline_days is not None
                else None,
            }
        )
    return out


def _date_after(now: float, days: float) -> str | None:
    """The calendar date `days` after now; None for an unbounded forecast."""
    if not np.isfinite(days):
        return None
    return (datetime.fromtimestamp(now, UTC) + timedelta(days=float(days))).date().isoformat()


# the report's fixed statements, built once per process (construction and cache keys cost more than running them)
GRADES_BY_SUBJECT = (
    sa.select(Subject.external_id, sa.func.avg(100.0 * Grade.marks / Exam.max_marks))
    .select_from(Grade)
    .join(Exam, Exam.id == Grade.exam_id)
    .join(Subject, Subject.id == Exam.subject_id)
    .where(Grade.learner_id == sa.bindparam("learner"))
    .group_by(Subject.external_id)
)


def _grades_by_subject(learner_id: int) -> dict[str, float]:
    rows = db.session.execute(GRADES_BY_SUBJECT, {"learner": learner_id})
    return {subject: round(float(average), 2) for subject, average in rows}


def _mastery(
    learner_id: int, whole: ReportDigest | None, stored: list[Any] | None = None, unstored: list[Any] | None = None
) -> list[dict[str, Any]]:
    """Stored mastery (`stored`: the rows when the caller read them), and the skills _replayed finds (from
    `unstored`: UNSTORED_ATTEMPTS's rows when the caller read them); none to look for when the learner's current
    digest (`whole`) says every skill they attempted had a stored row, and as many rows are stored."""
    stored = stored_mastery(learner_id) if stored is None else stored
    out = [
        {"skill": skill, "p_mastery": round(p, 4), "attempts": n, "mastered": p >= MASTERED_AT}
        for skill, p, n in stored
    ]
    covered = whole is not None and not whole.unstored_skills and len(stored) >= whole.attempted_skills
    if not covered and unstored is None:
        unstored = unstored_attempts(learner_id)
    return sorted(out + ([] if covered else _replayed(unstored or [])), key=lambda item: item["skill"])


def _replayed(attempts: list[Any]) -> list[dict[str, Any]]:
    """Skills with attempts but no stored row (history loaded around the ingest path), replayed from their
    (skill, correct) attempts in order, which the database selects (services.mastery_rows.UNSTORED_ATTEMPTS)."""
    if not attempts:
        return []
    skills, sequence = np.unique(np.array([skill for skill, _ in attempts]), return_inverse=True)
    obs, mask = to_padded(sequence, np.array([bool(correct) for _, correct in attempts]))
    p = replay_each(obs, mask, [*skill_params(skills.tolist()).values()])
    return [
        {
            "skill": str(s),
            "p_mastery": round(float(p[i]), 4),
            "attempts": int(mask[i].sum()),
            "mastered": bool(p[i] >= MASTERED_AT),
        }
        for i, s in enumerate(skills)
    ]


def metrics_json(metrics: LearnerMetrics) -> dict[str, Any]:
    """One learner's computed metrics as the API shows them (JSON-safe scalars)."""
    return {k: json_scalar(v) for k, v in metrics.row(0).items()}


def dashboard_parts(
    loaded: LoadedLearner,
    learner_id: int,
    horizon_days: float,
    risk: dict[str, Any],
    stored: list[Any],
    unstored: list[Any] | None = None,
) -> dict[str, Any]:
    """The parts of learner_report a dashboard shows (no grades, patterns or metrics), from what the caller
    already read: the learner's risk as risk_json gives it for their metrics, their stored mastery rows and
    (`unstored`, else read here when needed) UNSTORED_ATTEMPTS's rows."""
    trend, forecast = _trend_and_forecast(loaded.events, loaded.now, horizon_days, loaded.trends)
    return {
        "trend": trend,
        "forecast": forecast,
        "risk": risk,
        "completion": _completion(loaded, None),
        "mastery": _mastery(learner_id, loaded.whole, stored, unstored),
        "activity": _activity_counts(loaded.events, loaded.now),
    }


def learner_report(
    learner: Learner, horizon_days: float, deadline_days: float | None, loaded: LoadedLearner | None = None
) -> dict[str, Any]:
    """Everything computed about one learner, as of now (`loaded`: what the request already read; else the
    learner's digest when it is current, or their event log)."""
    loaded = loaded or load_learner_digest(learner) or load_learner(learner)
    now, events, metrics = loaded.now, loaded.events, loaded.metrics
    trend, forecast = _trend_and_forecast(events, now, horizon_days, loaded.trends)
    return {
        "learner": learner.external_id,
        "as_of": datetime.fromtimestamp(now, UTC).isoformat(),
        "metrics": metrics_json(metrics),
        "trend": trend,
        "forecast": forecast,
        "risk": risk_json(model := current_risk_model(), metrics.features(model.features)),
        "activity": _activity_counts(events, now),
        "patterns": _patterns(loaded),
        "completion": _completion(loaded, deadline_days),
        "grades_by_subject": _grades_by_subject(learner.id),
        "mastery": _mastery(learner.id, loaded.whole),
    }


def cohort_report(
    learner_ids: list[int],
    pass_mark: float,
    course_ids: list[int] | None = None,
    scores: np.ndarray | None = None,
) -> dict[str, Any]:
    """Aggregate of a group of learners over their events in `course_ids` (all courses if None), computed now;
    `scores` replaces the per-learner average (e.g. one exam's marks, in sorted learner id order)."""
    figures = compute_figures(learner_ids, course_ids, datetime.now(UTC).timestamp())
    return summarize(figures, pass_mark, scores)
