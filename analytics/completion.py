"""Per (learner, course) inputs of the completion forecast, from flat event arrays, for many learners at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics.forecast import CompletionForecast, cohort_prior, forecast_completion, gap_dispersion
from analytics.grouping import SECONDS_PER_DAY, take_where
from analytics.learner_metrics import KIND_CODES, EventArrays


@dataclass(frozen=True)
class CourseProgress:
    learner: np.ndarray  # learner index per pair
    course: np.ndarray  # course index per pair
    completed: np.ndarray  # distinct modules completed
    exposure_days: np.ndarray  # days since the learner's first event in the course
    forecast: CompletionForecast


def course_progress(
    events: EventArrays,
    module: np.ndarray,
    module_course: np.ndarray,
    course_totals: np.ndarray,
    now: float,
    prior: tuple[np.ndarray, np.ndarray] | None = None,
) -> CourseProgress:
    """Completion forecast for every (learner, course) pair with at least one event in the course.

    `module` gives each event's module index (-1 for none; those events are ignored); module_course
    maps a module index to a course index (-1 if none); course_totals counts each course's modules.
    `prior` gives each course's Gamma (shape, days) prior; by default it is estimated from these
    pairs (analytics.forecast.cohort_prior: empirical Bayes over the course's learners).
    """
    module = np.asarray(module, dtype=np.int64)
    known = module >= 0
    course = np.full(len(module), -1, dtype=np.int64)
    course[known] = module_course[module[known]]
    n_courses = len(course_totals)
    learner, time, kind, module, course = take_where(
        course >= 0, events.learner, events.time, events.kind, module, course
    )
    key = learner * n_courses + course
    pairs, first_index, inverse = np.unique(key, return_index=True, return_inverse=True)
    first_time = time[first_index]  # time-sorted within each learner: a pair's first occurrence is its earliest
    done = kind == KIND_CODES["module_completed"]
    distinct = (
        np.unique(np.stack([inverse[done], module[done]]), axis=1) if done.any() else np.empty((2, 0), dtype=np.int64)
    )
    completed = (
        np.bincount(distinct[0], minlength=len(pairs)) if distinct.size else np.zeros(len(pairs), dtype=np.int64)
    )
    order = np.lexsort((time[done], inverse[done]))  # completions by pair, then time
    dispersion = gap_dispersion(inverse[done][order], time[done][order], len(pairs))
    course_of_pair = pairs % n_courses
    exposure = (now - first_time) / SECONDS_PER_DAY
    shape, days = prior if prior is not None else cohort_prior(course_of_pair, completed, exposure, n_courses)
    forecast = forecast_completion(
        completed,
        course_totals[course_of_pair],
        exposure,
        0.0,
        dispersion,
        prior_shape=np.asarray(shape)[course_of_pair],
        prior_days=np.asarray(days)[course_of_pair],
    )
    return CourseProgress(pairs // n_courses, course_of_pair, completed, exposure, forecast)


def modules_left(
    events: EventArrays,
    module: np.ndarray,
    module_course: np.ndarray,
    course_totals: np.ndarray,
    enrolled: tuple[np.ndarray, np.ndarray] = (np.empty(0, np.int64), np.empty(0, np.int64)),
) -> np.ndarray:
    """Modules each learner still has to complete over the courses they are enrolled in or worked in.

    `enrolled` = (learner index, course index) pairs from enrollments. NaN for a learner with no known
    course (the rule that reads it then behaves as if modules remain); 0 once every module is done.
    """
    module = np.asarray(module, dtype=np.int64)
    course = np.where(module >= 0, np.asarray(module_course)[np.maximum(module, 0)], -1) if len(module) else module
    n_courses = len(course_totals)
    done = (events.kind == KIND_CODES["module_completed"]) & (course >= 0)
    keys = np.concatenate(
        [events.learner[course >= 0] * n_courses + course[course >= 0], enrolled[0] * n_courses + enrolled[1]]
    ).astype(np.int64)
    pairs = np.unique(keys)
    finished = np.unique(np.stack([events.learner[done] * n_courses + course[done], module[done]]), axis=1)
    completed = np.bincount(np.searchsorted(pairs, finished[0]), minlength=len(pairs)) if finished.size else 0
    left = np.maximum(np.asarray(course_totals, dtype=float)[pairs % n_courses] - completed, 0.0)
    learner = pairs // n_courses
    known = np.bincount(learner, minlength=events.n_learners) > 0
    return np.where(known, np.bincount(learner, weights=left, minlength=events.n_learners), np.nan)
