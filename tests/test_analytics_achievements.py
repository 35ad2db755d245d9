"""Achievement detection on hand-made learners: pure analytics, no app."""

from __future__ import annotations

import numpy as np

from analytics.achievements import ACHIEVEMENT_KINDS, find_achievements, score_achievements, streak_milestones
from analytics.grouping import SECONDS_PER_DAY, sort_by_learner_time
from analytics.learner_metrics import KIND_CODES, EventArrays

DAY = SECONDS_PER_DAY
START = 20000 * DAY  # a UTC midnight


def arrays(rows: list[tuple[int, float, str, float, int]], n_learners: int) -> tuple[EventArrays, np.ndarray]:
    """(learner, days after START, kind, percent, module index) rows -> sorted arrays and module indices."""
    rows = [(l, t, KIND_CODES[k], p, m) for l, t, k, p, m in rows]
    learner, time, kind, percent, module = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    learner, time, kind, percent, module = sort_by_learner_time(
        learner.astype(np.int64), START + time * DAY, kind.astype(np.int8), percent, module.astype(np.int64)
    )
    return EventArrays(n_learners, learner, time, kind, percent), module


def days(learner: int, day_numbers, kind: str = "activity") -> list[tuple[int, float, str, float, int]]:
    return [(learner, d + 0.4, kind, np.nan, -1) for d in day_numbers]


def listed(found) -> list[tuple[int, str, int, float]]:
    """(learner, kind, key, days after START) of each achievement, sorted."""
    return sorted(
        (int(l), ACHIEVEMENT_KINDS[k], int(key), round((t - START) / DAY, 2))
        for l, k, key, t in zip(found.learner, found.kind, found.key, found.time, strict=True)
    )


def test_streak_milestones_are_reached_once_on_the_day_the_run_gets_there():
    rows = days(0, range(8)) + days(0, [8.1, 8.2])  # 9 days in a row, two events on the last day
    rows += days(1, range(5)) + days(1, range(6, 13))  # a run of 5, a gap, then a run of 7
    rows += days(2, range(31))
    rows += days(3, range(6))  # six days: nothing yet
    events, _ = arrays(rows, 4)
    assert listed(streak_milestones(events)) == [
        (0, "streak_milestone", 7, 6.4),
        (1, "streak_milestone", 7, 12.4),  # the second run reached 7, on its seventh day
        (2, "streak_milestone", 7, 6.4),
        (2, "streak_milestone", 14, 13.4),
        (2, "streak_milestone", 30, 29.4),
    ]


def test_a_later_longer_run_does_not_award_a_milestone_twice():
    events, _ = arrays(days(0, range(8)) + days(0, range(10, 25)), 1)
    assert listed(streak_milestones(events)) == [(0, "streak_milestone", 7, 6.4), (0, "streak_milestone", 14, 23.4)]


def test_modules_once_each_and_a_course_when_all_its_modules_are_done():
    rows = [
        (0, 1.0, "module_completed", np.nan, 0),
        (0, 2.0, "module_completed", np.nan, 0),  # again: no second achievement
        (0, 3.0, "module_completed", np.nan, 1),  # course 0 (modules 0 and 1) is complete now
        (0, 4.0, "module_completed", np.nan, -1),  # a module the catalog does not know
        (1, 1.0, "module_completed", np.nan, 1),
        (1, 2.0, "module_completed", np.nan, 2),  # course 1 has modules 2 and 3
    ]
    events, module = arrays(rows, 2)
    found = find_achievements(events, module, np.array([0, 0, 1, 1]), np.array([2, 2]))
    assert listed(found) == [
        (0, "course_completed", 0, 3.0),
        (0, "module_completed", 0, 1.0),
        (0, "module_completed", 1, 3.0),
        (1, "module_completed", 1, 1.0),
        (1, "module_completed", 2, 2.0),
    ]
    assert found.value[found.kind == ACHIEVEMENT_KINDS.index("course_completed")].tolist() == [2.0]


def test_first_perfect_score_and_personal_bests_after_three_scores():
    scores = [60, 90, 70, 80, 95, 95, 100, 100, 99]
    rows = [(0, i + 0.5, "assessment", float(s), -1) for i, s in enumerate(scores)]
    rows += [(1, i + 0.5, "assessment", float(s), -1) for i, s in enumerate([50, 60, 70])]  # rising, too few
    events, _ = arrays(rows, 2)
    found = score_achievements(events)
    assert listed(found) == [
        (0, "first_perfect_score", 0, 6.5),
        (0, "personal_best", int(round((START + 4.5 * DAY) * 1000)), 4.5),  # 95 beats 90; a tie is no best
        (0, "personal_best", int(round((START + 6.5 * DAY) * 1000)), 6.5),
    ]
    best = found.kind == ACHIEVEMENT_KINDS.index("personal_best")
    assert found.value[best].tolist() == [95.0, 100.0] and found.previous[best].tolist() == [90.0, 95.0]


def test_the_same_history_always_yields_the_same_achievements():
    rows = days(0, range(10)) + [(0, 3.5, "assessment", 100.0, -1), (1, 0.5, "module_completed", np.nan, 0)]
    first = find_achievements(*arrays(rows, 2), np.array([0]), np.array([1]))
    again = find_achievements(*arrays(rows, 2), np.array([0]), np.array([1]))
    assert listed(first) == listed(again) and len(first) == 4  # streak 7, perfect, module 0, course 0


def test_no_events_no_achievements():
    empty = EventArrays(3, np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int8), np.zeros(0))
    assert len(find_achievements(empty, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))) == 0
