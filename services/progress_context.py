"""Everything the progress API reads about ONE learner, loaded once per request.

The brief's views (dashboard, predictions, trends) are built from this: the learner's events as
arrays, their current metrics, module progress in their courses, skill mastery and risk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from analytics.bkt import MASTERED_AT
from analytics.grouping import segments
from analytics.insights import InsightFacts
from analytics.learner_metrics import KIND_CODES, EventArrays, LearnerMetrics
from analytics.patterns import PERIODS, WEEKDAYS, compute_patterns
from analytics.progress_level import LEVELS, current_levels, level_index
from analytics.progress_trends import score_change
from analytics.risk import RiskModel
from models import Enrollment, Event, Module, Section, User, db
from services.analytics_data import ENGAGEMENT_EVENT
from services.learner_loading import Learner
from services.mastery_rows import stored_mastery
from services.model_training import current_risk_model
from services.reports import LoadedLearner, load_learner, risk_json

SCORE_WINDOW_DAYS = 14


@dataclass(frozen=True)
class LearnerContext:
    learner: Learner  # a User, or the users row a dashboard open read
    now: float
    events: EventArrays  # one learner: index 0
    module: np.ndarray  # module id per event, -1 without
    metrics: LearnerMetrics
    modules_completed: int
    total_modules: int
    mastered_share: float  # NaN without attempted skills
    risk: dict[str, Any]
    mastery: list[Any]  # stored (skill, p_mastery, attempts) rows, for services.reports

    @property
    def name(self) -> str:
        """How educators see the learner named in sentences."""
        return self.learner.name or self.learner.external_id

    def metric(self, name: str) -> float:
        """One metric of the learner as a float (NaN when missing)."""
        return float(getattr(self.metrics, name)[0])


def _course_modules(touched: Any) -> sa.Select[Any]:
    """The courses the learner is enrolled in or worked in (modules `touched`), each with its modules (NULL for a
    course without any): one statement."""
    courses = sa.union(
        sa.select(Section.course_id)
        .join(Enrollment, Enrollment.section_id == Section.id)
        .where(Enrollment.learner_id == sa.bindparam("learner"), Section.course_id.is_not(None)),
        sa.select(Module.course_id).where(Module.id.in_(touched)),
    ).subquery()
    return sa.select(courses.c.course_id, Module.id).outerjoin(Module, Module.course_id == courses.c.course_id)


# built once per process: the modules touched as the caller found them in the learner's events, or (for a read
# sent before the events arrive) found by the database from the same events: engagement events naming a module
COURSE_MODULES = _course_modules(sa.bindparam("touched", expanding=True))
COURSE_MODULES_OF_EVENTS = _course_modules(
    sa.select(Event.module_id).where(
        Event.learner_id == sa.bindparam("learner"), ENGAGEMENT_EVENT, Event.module_id.is_not(None)
    )
)


def course_modules(learner_id: int, module: np.ndarray) -> list[Any]:
    """COURSE_MODULES's (course, module) rows for the learner whose events name these modules (-1: none)."""
    touched = sorted({int(m) for m in module if m >= 0})
    return list(db.session.execute(COURSE_MODULES, {"learner": learner_id, "touched": touched}).all())


def _module_progress(rows: list[Any], module: np.ndarray, kind: np.ndarray) -> tuple[int, int]:
    """(distinct modules completed, modules in the courses the learner is enrolled in or worked in), from the
    learner's COURSE_MODULES rows and events."""
    if not rows:
        return len({int(m) for m in module[kind == KIND_CODES["module_completed"]] if m >= 0}), 0
    in_courses = {module_id for _, module_id in rows if module_id is not None}
    done = {int(m) for m in module[kind == KIND_CODES["module_completed"]] if int(m) in in_courses}
    return len(done), len(in_courses)


def _mastered_share(stored: list[Any]) -> float:
    """Share of the learner's stored skills mastered (NaN without any)."""
    return float(np.mean(np.asarray([p for _, p, _ in stored]) >= MASTERED_AT)) if stored else float("nan")


def load_context(learner: User) -> LearnerContext:
    """Load and compute once; every view of the request reads from it."""
    loaded = load_learner(learner)
    return context_of(
        learner, loaded, course_modules(learner.id, loaded.module), stored_mastery(learner.id), current_risk_model()
    )


def context_of(
    learner: Learner, loaded: LoadedLearner, modules: list[Any], stored: list[Any], model: RiskModel
) -> LearnerContext:
    """The context from what the caller read: the learner's events and metrics, their COURSE_MODULES rows,
    stored mastery rows and the current risk model."""
    done, total = _module_progress(modules, loaded.module, loaded.events.kind)
    return LearnerContext(
        learner,
        loaded.now,
        loaded.events,
        loaded.module,
        loaded.metrics,
        done,
        total,
        _mastered_share(stored),
        risk_json(model, loaded.metrics.features(model.features)),
        stored,
    )


def loaded(ctx: LearnerContext) -> LoadedLearner:
    """What the context already read, for services.reports.learner_report (so nothing is read twice)."""
    return LoadedLearner(ctx.now, ctx.events, ctx.module, ctx.metrics)


def progress_percentage(ctx: LearnerContext) -> float | None:
    """Modules completed of the modules in the learner's courses, in percent (None without courses)."""
    return round(100.0 * ctx.modules_completed / ctx.total_modules, 1) if ctx.total_modules else None


def level(ctx: LearnerContext) -> tuple[str, float | None]:
    """The learner's level name and index (analytics.progress_level documents the rule)."""
    progress = np.array([progress_percentage(ctx) if ctx.total_modules else np.nan], dtype=float)
    average = np.array([ctx.metric("average_score")])
    mastered = np.array([ctx.mastered_share])
    index = float(level_index(progress, average, mastered)[0])
    return LEVELS[int(current_levels(progress, average, mastered)[0])], None if np.isnan(index) else round(index, 1)


def peaks(ctx: LearnerContext) -> dict[str, Any]:
    """Peak hour, weekday and period of the learner's activity (UTC), None without events."""
    e = ctx.events
    p = compute_patterns(segments(e.learner, 1), e.time)
    has = p.peak_hour[0] >= 0
    top_hours = np.argsort(-p.by_hour[0], kind="stable")[:3]
    return {
        "peak_hour": int(p.peak_hour[0]) if has else None,
        "peak_weekday": WEEKDAYS[p.peak_weekday[0]] if has else None,
        "peak_period": PERIODS[p.peak_period[0]] if has else None,
        "top_hours": [int(h) for h in top_hours if p.by_hour[0][h] > 0],
        "by_weekday": dict(zip(WEEKDAYS, p.by_weekday[0].tolist())),
        "by_hour": p.by_hour[0].tolist(),
    }


def insight_facts(ctx: LearnerContext, next_completion: tuple[str, str] | None = None) -> InsightFacts:
    """The numbers insight sentences are generated from."""
    e = ctx.events
    change = score_change(e.time, e.percent, ctx.now, SCORE_WINDOW_DAYS)
    peak = peaks(ctx)
    return InsightFacts(
        name=ctx.name,
        score_change=change.change,
        window_days=SCORE_WINDOW_DAYS,
        recent_average=change.recent,
        previous_average=change.previous,
        current_streak=int(ctx.metric("current_streak")),
        longest_streak=int(ctx.metric("longest_streak")),
        active_days_last_week=int(round(7 * np.nan_to_num(ctx.metric("active_day_share")))),
        days_since_activity=ctx.metric("days_since_activity"),
        modules_completed=ctx.modules_completed,
        total_modules=ctx.total_modules,
        peak_period=peak["peak_period"],
        peak_weekday=peak["peak_weekday"],
        next_completion=next_completion,
        risk_light=ctx.risk["light"],
        risk_probability=math.nan if ctx.risk["probability"] is None else ctx.risk["probability"],
        top_risk_factor=ctx.risk["top_factors"][0]["feature"] if ctx.risk["top_factors"] else None,
    )
