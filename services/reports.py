"""Analytics reports for the API: one learner in depth, or a cohort of learners in aggregate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app

from analytics import cohort as cohort_analytics
from analytics.activity import daily_counts, weekly_counts
from analytics.anomaly import detect_anomalies
from analytics.bkt import MASTERED_AT, replay, to_padded
from analytics.forecast import forecast_completion, forecast_recent_scores, gap_dispersion
from analytics.grouping import SECONDS_PER_DAY, segments
from analytics.learner_metrics import KIND_CODES, EventArrays, LearnerMetrics, compute_learner_metrics
from analytics.patterns import PERIODS, WEEKDAYS, compute_patterns
from analytics.risk import score_risk
from analytics.scores import DIRECTION_NAMES, compute_score_trends
from models import Course, Event, Exam, Grade, Module, SkillMastery, Subject, User, db
from models.queries import mapping
from services.analytics_data import load_attendance_percent, load_event_arrays
from services.course_pace import course_priors
from services.json_values import json_scalar
from services.mastery import MASTERY_THRESHOLD, skill_params
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


def _trend_and_forecast(events, now: float, horizon_days: float) -> tuple[dict, dict]:
    assessed = events.kind == KIND_CODES["assessment"]
    seg, times = segments(events.learner[assessed], events.n_learners), events.time[assessed]
    trends = compute_score_trends(seg, times, events.percent[assessed])
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
    fitted = int(min(seg.counts[0], FORECAST_WINDOW))
    return trend, {
        "horizon_days": horizon_days,
        "from_date": _date_after(now, 0.0),
        "target_date": _date_after(now, horizon_days),  # the horizon counts from today
        "fitted_scores": fitted,  # the trend extrapolated is that of the last FORECAST_WINDOW scores
        "predicted_score": json_scalar(forecast.predicted[0]),
        "interval": [json_scalar(forecast.low[0]), json_scalar(forecast.high[0])],
        "level": FORECAST_LEVEL,
        # straight: the recent line; bounded: the line would cross 0 or 100, so the trend bends toward the bound
        "trend_model": "bounded" if forecast.bounded is not None and forecast.bounded[0] else "straight",
    }


def _activity_counts(events, now: float, days: int = 28) -> dict[str, Any]:
    """Events per UTC day for the last `days` days (oldest first) and per whole week."""
    active = events.kind <= KIND_CODES["assessment"]
    daily = daily_counts(segments(events.learner[active], events.n_learners), events.time[active], now, days)
    first = datetime.fromtimestamp(now, UTC).date() - timedelta(days=days - 1)
    return {"first_day": first.isoformat(), "daily": daily[0].tolist(), "weekly": weekly_counts(daily)[0].tolist()}


def _patterns(events) -> dict[str, Any]:
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


def _completion(events, module: np.ndarray, now: float, deadline_days: float | None) -> list[dict[str, Any]]:
    """Per course the learner worked in: a Gamma-Poisson completion forecast."""
    touched = sorted({int(m) for m in module if m >= 0})
    if not touched:
        return []
    course_of = mapping(sa.select(Module.id, Module.course_id).where(Module.id.in_(touched)))
    courses = sorted(set(course_of.values()))
    totals = mapping(
        sa.select(Module.course_id, sa.func.count()).where(Module.course_id.in_(courses)).group_by(Module.course_id)
    )
    names = mapping(sa.select(Course.id, Course.external_id).where(Course.id.in_(courses)))
    event_course = np.array([course_of.get(int(m), -1) for m in module])
    done = events.kind == KIND_CODES["module_completed"]
    priors = course_priors(courses, datetime.fromtimestamp(now, UTC))
    out = []
    for course in courses:  # a learner works in a handful of courses; each row is vectorized work
        in_course = event_course == course
        completed = len({int(m) for m in module[in_course & done]})
        exposure = (now - events.time[in_course].min()) / SECONDS_PER_DAY
        finished = np.sort(events.time[in_course & done])
        forecast = forecast_completion(
            np.array([completed]),
            np.array([totals[course]]),
            np.array([exposure]),
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


def _grades_by_subject(learner_id: int) -> dict[str, float]:
    rows = db.session.execute(
        sa.select(Subject.external_id, sa.func.avg(100.0 * Grade.marks / Exam.max_marks))
        .select_from(Grade)
        .join(Exam, Exam.id == Grade.exam_id)
        .join(Subject, Subject.id == Exam.subject_id)
        .where(Grade.learner_id == learner_id)
        .group_by(Subject.external_id)
    )
    return {subject: round(float(average), 2) for subject, average in rows}


def _mastery(learner_id: int) -> list[dict[str, Any]]:
    """Stored mastery; skills not refitted since the learner's first attempt are replayed from history."""
    stored = {
        row.skill: row
        for row in db.session.scalars(sa.select(SkillMastery).where(SkillMastery.learner_id == learner_id))
    }
    attempts = db.session.execute(
        sa.select(Event.skill, Event.score, Event.max_score)
        .where(Event.learner_id == learner_id, Event.kind == "assessment", Event.skill.is_not(None))
        .order_by(Event.skill, Event.occurred_at, Event.id)
    ).all()
    missing = sorted({skill for skill, _, _ in attempts} - stored.keys())
    params = skill_params(missing)
    out = [
        {"skill": s, "p_mastery": round(r.p_mastery, 4), "attempts": r.attempts, "mastered": r.p_mastery >= MASTERED_AT}
        for s, r in stored.items()
    ]
    for skill in missing:
        correct = np.array(
            [100.0 * score / max_score >= MASTERY_THRESHOLD for s, score, max_score in attempts if s == skill]
        )
        obs, mask = to_padded(np.zeros(len(correct), dtype=np.int64), correct)
        p = float(replay(obs, mask, params[skill])[0])
        out.append({"skill": skill, "p_mastery": round(p, 4), "attempts": len(correct), "mastered": p >= MASTERED_AT})
    return sorted(out, key=lambda item: item["skill"])


@dataclass(frozen=True)
class LoadedLearner:
    """One learner's events (index 0) and current metrics, loaded once per request and shared by its views."""

    now: float
    events: EventArrays
    module: np.ndarray  # module id per event, -1 without
    metrics: LearnerMetrics


def load_learner(learner: User) -> LoadedLearner:
    """Read the learner's events and attendance and compute their metrics as of now."""
    now = datetime.now(UTC).timestamp()
    events, module = load_event_arrays([learner.id])
    return LoadedLearner(
        now, events, module, compute_learner_metrics(events, now, load_attendance_percent([learner.id]))
    )


def learner_report(
    learner: User, horizon_days: float, deadline_days: float | None, loaded: LoadedLearner | None = None
) -> dict[str, Any]:
    """Everything computed about one learner, as of now (`loaded`: what the request already read)."""
    loaded = loaded or load_learner(learner)
    now, events, module, metrics = loaded.now, loaded.events, loaded.module, loaded.metrics
    trend, forecast = _trend_and_forecast(events, now, horizon_days)
    return {
        "learner": learner.external_id,
        "as_of": datetime.fromtimestamp(now, UTC).isoformat(),
        "metrics": {k: json_scalar(v) for k, v in metrics.row(0).items()},
        "trend": trend,
        "forecast": forecast,
        "risk": risk_json(model := current_risk_model(), metrics.features(model.features)),
        "activity": _activity_counts(events, now),
        "patterns": _patterns(events),
        "completion": _completion(events, module, now, deadline_days),
        "grades_by_subject": _grades_by_subject(learner.id),
        "mastery": _mastery(learner.id),
    }


def cohort_report(
    learner_ids: list[int],
    pass_mark: float,
    course_ids: list[int] | None = None,
    scores: np.ndarray | None = None,
    weeks: int = 8,
) -> dict[str, Any]:
    """Aggregate of a group of learners over their events in `course_ids` (all courses if None);
    `scores` replaces the per-learner average (e.g. one exam's marks, in sorted learner id order)."""
    ids = sorted(set(learner_ids))
    now = datetime.now(UTC).timestamp()
    events, _ = load_event_arrays(ids, course_ids)
    attendance = load_attendance_percent(ids)
    metrics = compute_learner_metrics(events, now, attendance)
    average = metrics.average_score if scores is None else np.asarray(scores, dtype=float)
    model = current_risk_model()
    lights = score_risk(model, metrics.features(model.features)).light if ids else np.array([], dtype=np.int8)
    unusual = detect_anomalies(metrics.features(), contamination=0.05)
    members = np.arange(len(ids))
    groups = np.zeros(len(ids), dtype=np.int64)
    edges = tuple(current_app.config["GRADE_BAND_EDGES"])
    summary = cohort_analytics.summarize_cohorts(members, groups, 1, average, attendance, lights, pass_mark, edges)
    best, worst = cohort_analytics.top_and_low_performers(members, groups, 1, average, k=5)
    external = mapping(sa.select(User.id, User.external_id).where(User.id.in_(ids))) if ids else {}

    def performer(i):
        return {"learner": external[ids[i]], "average": round(float(average[i]), 2)}

    weekly = _weekly_average(events, now, weeks)
    return {
        "as_of": datetime.fromtimestamp(now, UTC).isoformat(),
        "learners": int(summary.learners[0]),
        "scored": int(summary.scored[0]),
        "average": json_scalar(summary.average[0]),
        "pass_mark": pass_mark,
        "pass_rate": json_scalar(summary.pass_rate[0]),
        "grade_distribution": dict(zip(cohort_analytics.GRADE_BANDS, summary.band_counts[0].tolist())),
        "attendance_percent": json_scalar(summary.attendance[0]),
        "risk": {**dict(zip(LIGHTS, summary.risk_counts[0].tolist())), "grey": int((lights < 0).sum())},
        "top_performers": [performer(i) for i in best[0] if i >= 0],
        "low_performers": [performer(i) for i in worst[0] if i >= 0],
        "unusual_learners": [
            {"learner": external[ids[i]], "score": round(float(unusual.score[i]), 4)}
            for i in np.flatnonzero(unusual.flagged)
        ],
        "weekly_average": weekly,
    }


def _weekly_average(events: Any, now: float, weeks: int) -> list[dict[str, Any]]:
    """The group's average assessment score per week over the last `weeks` weeks (null: no score)."""
    assessed = events.kind == KIND_CODES["assessment"]
    start, week = now - weeks * 7 * SECONDS_PER_DAY, 7 * SECONDS_PER_DAY
    group = np.zeros(int(assessed.sum()), dtype=np.int64)
    trend = cohort_analytics.cohort_average_trend(
        group, events.time[assessed], events.percent[assessed], 1, start, week, weeks
    )[0]
    return [
        {"week_start": datetime.fromtimestamp(start + w * week, UTC).date().isoformat(), "average": json_scalar(v)}
        for w, v in enumerate(trend)
    ]
