"""A learner's level (Beginner, Intermediate, Advanced) from progress, scores and mastery.

Rule: the level index is the mean of the components a learner has, each on a 0-100 scale:
progress_percentage (modules completed of the modules in their courses), average_score
(assessment percent) and mastered share of the skills they attempted (x 100). Missing components
(NaN) are skipped. Index < 40: Beginner; 40 to < 70: Intermediate; >= 70: Advanced. A learner
with no component at all is a Beginner.
"""

from __future__ import annotations

import numpy as np

LEVELS = ("Beginner", "Intermediate", "Advanced")
LEVEL_EDGES = (40.0, 70.0)


def level_index(progress_percentage: np.ndarray, average_score: np.ndarray, mastered_share: np.ndarray) -> np.ndarray:
    """Per learner, the mean of the available 0-100 components (NaN when none is available)."""
    parts = np.column_stack(
        [
            np.asarray(progress_percentage, dtype=float),
            np.asarray(average_score, dtype=float),
            100.0 * np.asarray(mastered_share, dtype=float),
        ]
    )
    present = ~np.isnan(parts)
    total = np.where(present, parts, 0.0).sum(axis=1)
    count = present.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def current_levels(
    progress_percentage: np.ndarray, average_score: np.ndarray, mastered_share: np.ndarray
) -> np.ndarray:
    """Per learner, an index into LEVELS (0 without any data)."""
    index = np.nan_to_num(level_index(progress_percentage, average_score, mastered_share), nan=0.0)
    return np.searchsorted(np.asarray(LEVEL_EDGES), index, side="right")
