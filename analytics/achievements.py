"""Achievements reached by many learners at once, from their flat event arrays (no loop over learners).

Each achievement is a milestone reached once: the earliest moment the condition became true is its
time, so the same history always yields the same (learner, kind, key, time), and a store keyed on
(learner, kind, key) awards each one once however often it is recomputed.

- streak_milestone: 7, 14, 30, 60 and 100 consecutive active UTC days (as metrics.current_streak
  counts them); key = the days; time = the first event of the run's day that reached it.
- module_completed: the first completion of each module; key = the module's index.
- course_completed: every module of a course completed (courses with at least one module); key =
  the course's index; time = the completion that finished the set.
- first_perfect_score: the first assessment at 100%; key 0.
- personal_best: an assessment scoring strictly above every earlier one of the learner, once they
  have at least BEST_MIN_PREVIOUS earlier scores (so the first scores are not all "bests"); key = the
  assessment's time in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics.activity import day_numbers
from analytics.grouping import segments, take_where
from analytics.learner_metrics import ENGAGEMENT_KINDS, KIND_CODES, EventArrays

ACHIEVEMENT_KINDS = ("streak_milestone", "module_completed", "course_completed", "first_perfect_score", "personal_best")
STREAK_MILESTONES = (7, 14, 30, 60, 100)
BEST_MIN_PREVIOUS = 3
PERFECT_AT = 100.0 - 1e-9  # percent; scores are stored as 100 * score / max_score


@dataclass(frozen=True)
class Found:
    """Achievements as parallel arrays; `kind` indexes ACHIEVEMENT_KINDS."""

    learner: np.ndarray  # int64 learner index
    kind: np.ndarray  # int64
    key: np.ndarray  # int64: days, module or course index, 0, or time in ms
    time: np.ndarray  # float64 epoch seconds when it was reached
    value: np.ndarray  # float64: streak days, modules in the course, score percent (NaN: none)
    previous: np.ndarray  # float64: the best score it beat (personal_best), else NaN

    def __len__(self) -> int:
        return len(self.learner)


def _found(
    kind: str,
    learner: np.ndarray,
    key: np.ndarray,
    time: np.ndarray,
    value: np.ndarray,
    previous: np.ndarray | None = None,
) -> Found:
    n = len(learner)
    return Found(
        np.asarray(learner, dtype=np.int64),
        np.full(n, ACHIEVEMENT_KINDS.index(kind), dtype=np.int64),
        np.asarray(key, dtype=np.int64),
        np.asarray(time, dtype=float),
        np.asarray(value, dtype=float),
        np.full(n, np.nan) if previous is None else np.asarray(previous, dtype=float),
    )


def _first_per(group: np.ndarray) -> np.ndarray:
    """Index of the first element of each distinct value of `group` (events are in time order)."""
    return np.unique(group, return_index=True)[1] if len(group) else np.zeros(0, dtype=np.int64)


def streak_milestones(events: EventArrays, milestones: tuple[int, ...] = STREAK_MILESTONES) -> Found:
    """Each milestone the first time a run of consecutive active days reaches it."""
    active = events.kind <= max(ENGAGEMENT_KINDS)
    learner, time = take_where(active, events.learner, events.time)
    days = day_numbers(time)
    day_key = (learner << 32) + days
    first = np.r_[True, day_key[1:] != day_key[:-1]] if len(day_key) else np.zeros(0, dtype=bool)
    day_key, day_learner, day_time = take_where(first, day_key, learner, time)
    run_start = np.r_[True, np.diff(day_key) != 1] if len(day_key) else np.zeros(0, dtype=bool)
    start_position = np.flatnonzero(run_start)[np.cumsum(run_start) - 1]
    day_in_run = np.arange(len(day_key)) - start_position  # 0 on a run's first day
    parts = []
    for days_needed in milestones:  # a handful of milestones, vectorized over every learner
        reached = np.flatnonzero(day_in_run == days_needed - 1)
        chosen = reached[_first_per(day_learner[reached])]
        parts.append(
            _found(
                "streak_milestone",
                day_learner[chosen],
                np.full(len(chosen), days_needed),
                day_time[chosen],
                np.full(len(chosen), float(days_needed)),
            )
        )
    return concat(parts)


def module_completions(events: EventArrays, module: np.ndarray, n_modules: int) -> Found:
    """The first completion of each module by each learner (events with no known module are skipped)."""
    done = (events.kind == KIND_CODES["module_completed"]) & (module >= 0)
    learner, mod, time = take_where(done, events.learner, module, events.time)
    chosen = _first_per(learner * max(n_modules, 1) + mod)
    return _found("module_completed", learner[chosen], mod[chosen], time[chosen], np.full(len(chosen), np.nan))


def course_completions(modules: Found, module_course: np.ndarray, course_modules: np.ndarray) -> Found:
    """Courses whose every module the learner completed, at the completion that finished the set."""
    if not len(modules):
        return modules  # no completions: no course either (an empty Found)
    course = np.asarray(module_course, dtype=np.int64)[modules.key]
    group = modules.learner * max(len(course_modules), 1) + course
    order = np.lexsort((modules.time, group))
    group, learner, course, time = group[order], modules.learner[order], course[order], modules.time[order]
    starts = _first_per(group)
    counts = np.diff(np.r_[starts, len(group)])
    totals = np.asarray(course_modules, dtype=np.int64)[course[starts]] if len(starts) else np.zeros(0, np.int64)
    complete = (totals > 0) & (counts >= totals)
    last = (np.r_[starts[1:], len(group)] - 1)[complete]  # the group's latest first-completion: sorted by time
    return _found("course_completed", learner[last], course[last], time[last], totals[complete])


def score_achievements(events: EventArrays, min_previous: int = BEST_MIN_PREVIOUS) -> Found:
    """The first perfect score, and every assessment above all of the learner's earlier ones."""
    assessed = events.kind == KIND_CODES["assessment"]
    learner, time, percent = take_where(assessed, events.learner, events.time, events.percent)
    perfect = np.flatnonzero(percent >= PERFECT_AT)
    first_perfect = perfect[_first_per(learner[perfect])]
    seg = segments(learner, events.n_learners)
    offset = 1000.0 * learner  # percent lies in 0..100: each learner's values sit above the previous one's
    running = np.fmax.accumulate(np.clip(percent, 0, 100) + offset) - offset if len(percent) else percent
    running = np.where(running < 0, np.nan, running)  # only earlier learners' scores so far (own ones unscored)
    before = np.r_[np.nan, running[:-1]] if len(running) else running
    rank = seg.rank()
    best = np.flatnonzero((rank >= min_previous) & (percent > before))
    return concat(
        [
            _found(
                "first_perfect_score",
                learner[first_perfect],
                np.zeros(len(first_perfect)),
                time[first_perfect],
                percent[first_perfect],
            ),
            _found(
                "personal_best",
                learner[best],
                np.round(time[best] * 1000),
                time[best],
                percent[best],
                before[best],
            ),
        ]
    )


def concat(parts: list[Found]) -> Found:
    """One Found from several."""

    def joined(name: str) -> np.ndarray:
        return np.concatenate([getattr(part, name) for part in parts])

    return Found(joined("learner"), joined("kind"), joined("key"), joined("time"), joined("value"), joined("previous"))


def find_achievements(
    events: EventArrays, module: np.ndarray, module_course: np.ndarray, course_modules: np.ndarray
) -> Found:
    """Every achievement in these learners' histories. `module`: each event's module index (-1: none);
    `module_course`: each module's course index; `course_modules`: how many modules each course has."""
    modules = module_completions(events, np.asarray(module, dtype=np.int64), len(module_course))
    return concat(
        [
            streak_milestones(events),
            modules,
            course_completions(modules, module_course, course_modules),
            score_achievements(events),
        ]
    )
