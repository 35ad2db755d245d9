"""Analytics reports for the API: one learner in depth, or a cohort of learners in aggregate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import aliased

from analytics import cohort as cohort_analytics
from analytics.activity import daily_counts, weekly_counts
from analytics.bkt import MASTERED_AT, replay_each, to_padded
from analytics.forecast import forecast_completion, forecast_recent_scores, gap_dispersion
from analytics.grouping import SECONDS_PER_DAY, segments
from analytics.learner_metrics import KIND_CODES, EventArrays, LearnerMetrics, compute_learner_metrics
from analytics.patterns import PERIODS, WEEKDAYS, compute_patterns
from analytics.risk import score_risk
from analytics.scores import DIRECTION_NAMES, compute_score_trends
from models import Course, Event, Exam, Grade, Module, SkillMastery, Subject, User, db
from services.analytics_data import load_attendance_percent, load_event_arrays
from services.cohort_members import compute_figures, summarize
from services.course_pace import cached_course_priors
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


def _event_courses(module: np.ndarray) -> tuple[np.ndarray, dict[int, int], dict[int, str]]:
    """Each event's course id (-1 without a module), and per course its module total and external id."""
    touched = np.unique(module[module >= 0])
    event_course = np.full(len(module), -1, dtype=np.int64)
    if not len(touched):
        return event_course, {}, {}
    siblings = aliased(Module)
    total = sa.select(sa.func.count()).where(siblings.course_id == Module.course_id).scalar_subquery()
    rows = db.session.execute(  # one statement: each module's course, that course's name and module total
        sa.select(Module.id, Module.course_id, Course.external_id, total)
        .join(Course, Course.id == Module.course_id)
        .where(Module.id.in_(touched.tolist()))
        .order_by(Module.id)
    ).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    course_of = np.array([r[1] for r in rows], dtype=np.int64)
    where = np.minimum(np.searchsorted(ids, module), len(ids) - 1)
    found = (module >= 0) & (ids[where] == module)
    event_course[found] = course_of[where[found]]
    return event_course, {r[1]: r[3] for r in rows}, {r[1]: r[2] for r in rows}


def _completion(events, module: np.ndarray, now: float, deadline_days: float | None) -> list[dict[str, Any]]:
    """Per course the learner worked in: a Gamma-Poisson completion forecast."""
    event_course, totals, names = _event_courses(module)
    if not totals:
        return []
    done = events.kind == KIND_CODES["module_completed"]
    priors = cached_course_priors(sorted(totals), datetime.fromtimestamp(now, UTC))
    out = []
    for course in sorted(totals):  # a learner works in a handful of courses; each row is vectorized work
        in_course = event_course == course
        completed = int(np.unique(module[in_course & done]).size)
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
    """Stored mastery; skills with attempts but no stored row (history loaded around the ingest path) are
    replayed from their attempts, which the database selects: normally none, so no attempt row travels."""
    stored = db.session.execute(
        sa.select(SkillMastery.skill, SkillMastery.p_mastery, SkillMastery.attempts).where(
            SkillMastery.learner_id == learner_id
        )
    ).all()
    unstored = ~sa.exists().where(SkillMastery.learner_id == learner_id, SkillMastery.skill == Event.skill)
    attempts = db.session.execute(
        sa.select(Event.skill, 100.0 * Event.score / Event.max_score >= MASTERY_THRESHOLD)
        .where(Event.learner_id == learner_id, Event.kind == "assessment", Event.skill.is_not(None), unstored)
        .order_by(Event.skill, Event.occurred_at, Event.id)
    ).all()
    out = [
        {"skill": skill, "p_mastery": round(p, 4), "attempts": n, "mastered": p >= MASTERED_AT}
        for skill, p, n in stored
    ]
    if attempts:
        skills, sequence = np.unique(np.array([skill for skill, _ in attempts]), return_inverse=True)
        obs, mask = to_padded(sequence, np.array([bool(correct) for _, correct in attempts]))
        p = replay_each(obs, mask, [*skill_params(skills.tolist()).values()])
        out += [
            {
                "skill": str(s),
                "p_mastery": round(float(p[i]), 4),
                "attempts": int(mask[i].sum()),
                "mastered": bool(p[i] >= MASTERED_AT),
            }
            for i, s in enumerate(skills)
        ]
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
) -> dict[str, Any]:
    """Aggregate of a group of learners over their events in `course_ids` (all courses if None), computed now;
    `scores` replaces the per-learner average (e.g. one exam's marks, in sorted learner id order)."""
    figures = compute_figures(learner_ids, course_ids, datetime.now(UTC).timestamp())
    return summarize(figures, pass_mark, scores)
