"""Attendance percentage and grade averages per subject."""

from __future__ import annotations

import numpy as np

ATTENDANCE_CODES = {"present": 0, "late": 1, "absent": 2, "excused": 3}
ATTENDED = (0, 1)  # present and late count as attended; excused days leave the denominator


def attendance_percent(learner: np.ndarray, status_code: np.ndarray, n_learners: int) -> np.ndarray:
    """100 * attended / (recorded days - excused days) per learner; NaN with no countable day."""
    learner, code = np.asarray(learner, dtype=np.int64), np.asarray(status_code, dtype=np.int64)
    attended = np.isin(code, ATTENDED).astype(float)
    countable = (code != ATTENDANCE_CODES["excused"]).astype(float)
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
