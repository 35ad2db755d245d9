"""Each course's pace prior for completion forecasts: empirical Bayes over the course's learners."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from time import monotonic

import numpy as np
import sqlalchemy as sa
from flask import current_app

from analytics.forecast import cohort_prior
from analytics.grouping import SECONDS_PER_DAY
from models import Event, Module, db

ENGAGEMENT_KINDS = ("activity", "module_completed", "assessment")


def course_priors(course_ids: Sequence[int], now: datetime) -> dict[int, tuple[float, float]]:
    """course id -> Gamma (shape, days) prior on the module-completion rate, from every learner in the course."""
    courses = sorted(set(course_ids))
    if not courses:
        return {}
    done = sa.case((Event.kind == "module_completed", Event.module_id))
    rows = db.session.execute(
        sa.select(Module.course_id, sa.func.count(sa.distinct(done)), sa.func.min(Event.occurred_at))
        .join(Module, Module.id == Event.module_id)
        .where(Module.course_id.in_(courses), Event.kind.in_(ENGAGEMENT_KINDS))
        .group_by(Module.course_id, Event.learner_id)
    ).all()
    group = np.searchsorted(courses, [r[0] for r in rows]).astype(np.int64)
    completed = np.array([r[1] for r in rows], dtype=float)
    exposure = np.array([(now - r[2]).total_seconds() / SECONDS_PER_DAY for r in rows], dtype=float)
    shape, days = cohort_prior(group, completed, exposure, len(courses))
    return {course: (float(shape[i]), float(days[i])) for i, course in enumerate(courses)}


def cached_course_priors(course_ids: Sequence[int], now: datetime) -> dict[int, tuple[float, float]]:
    """course_priors kept per process for COHORT_SUMMARY_INTERVAL: a prior pools every learner of the course
    (a scan of the course's whole history, too big for each learner's report) and moves slowly."""
    cache = current_app.extensions.setdefault("course_priors", {})
    ttl, stamp = current_app.config["COHORT_SUMMARY_INTERVAL"], monotonic()
    stale = [c for c in sorted(set(course_ids)) if c not in cache or stamp - cache[c][0] > ttl]
    for course, prior in course_priors(stale, now).items():
        cache[course] = (stamp, prior)
    return {course: cache[course][1] for course in course_ids}
