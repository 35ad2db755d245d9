"""Attendance percentage and grade averages per subject."""

from __future__ import annotations

import numpy as np

ATTENDANCE_CODES = {"present": 0, "late": 1, "absent": 2, "excused": 3}
# The one definition of attendance percent: attended days over countable days.
ATTENDED_STATUSES = ("present", "late")  # count as attended
COUNTABLE_STATUSES = ("present", "late", "absent")  # excused days leave the denominator
ATTENDED = tuple(ATTENDANCE_CODES[s] for s in ATTENDED_STATUSES)
COUNTABLE = tuple(ATTENDANCE_CODES[s] for s in COUNTABLE_STATUSES)


def _one_of(code: np.ndarray, codes: tuple[int, ...]) -> np.ndarray:
    """np.isin(code, codes) for a few codes, by comparisons: isin sorts both sides, ~30 us on one learner's days
    (every learner dashboard open reads their attendance)."""
    out = np.zeros(code.shape, dtype=bool)
    for value in codes:
        out |= code == value
    return out


def attendance_percent(learner: np.ndarray, status_code: np.ndarray, n_learners: int) -> np.ndarray:
    """100 * attended / (recorded days - excused days) per learner; NaN with no countable day."""
    learner, code = np.asarray(learner, dtype=np.int64), np.asarray(status_code, dtype=np.int64)
    attended = _one_of(code, ATTENDED).astype(float)
    countable = _one_of(code, COUNTABLE).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * (
            np.bincount(learner, weights=attended, minlength=n_learners)
            / np.bincount(learner, weights=countable, minlength=n_learners)
        )


def grade_average_by_subject(
    learner: np.ndarray, subject: np.ndarray, percent: np.ndarray, n_learners: int, n_subjects: int
) -> np.ndarray:
    """(n_learners, n_subjects) mean grade percent; NaN where a learner has no grade in a subject."""
    key = np.asarray(learner, dtype=np.int64) * n_subjects + np.asarray(subject, dtype=np.int64)
    size = n_learners * n_subjects
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.bincount(key, weights=np.asarray(percent, dtype=float), minlength=size) / np.bincount(
            key, minlength=size
        )
    return means.reshape(n_learners, n_subjects)


def standing(value: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank (1 = highest; ties share the better rank), cohort size and percentile (share of the others
    strictly below, 0..100; 100 when alone) of each value among the non-NaN values; NaN gets rank 0."""
    value = np.asarray(value, dtype=float)
    known = ~np.isnan(value)
    ranked = np.sort(value[known])
    n = len(ranked)
    below = np.searchsorted(ranked, value, side="left")
    above = n - np.searchsorted(ranked, value, side="right")
    rank = np.where(known, above + 1, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        percentile = np.where(known, 100.0 * below / (n - 1) if n > 1 else 100.0, np.nan)
    return rank, np.full(len(value), n), percentile
