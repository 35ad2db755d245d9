"""Per-learner segments of flat event arrays, the building block of every vectorized metric.

Contract for every function in `analytics/`: events arrive as parallel 1-D arrays sorted by
(learner index, time), learner indices are 0..n_learners-1, times are float seconds (UTC epoch).
`sort_by_learner_time` puts raw arrays in that order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SECONDS_PER_DAY = 86400.0


class AnalyticsInputError(ValueError):
    """Input arrays break the contract above (lengths, ranges, order)."""


@dataclass(frozen=True)
class Segments:
    """Where each learner's events start and how many there are (CSR offsets over sorted events)."""

    learner: np.ndarray  # int64, per event
    counts: np.ndarray  # int64, per learner
    starts: np.ndarray  # int64, per learner: index of the first event

    @property
    def n_learners(self) -> int:
        return len(self.counts)

    @property
    def ends(self) -> np.ndarray:
        """Index one past each learner's last event."""
        return self.starts + self.counts

    def rank(self) -> np.ndarray:
        """0-based position of each event within its learner's events."""
        return np.arange(len(self.learner)) - self.starts[self.learner]

    def rank_from_end(self) -> np.ndarray:
        """0 for each learner's latest event, 1 for the one before, ..."""
        return self.ends[self.learner] - 1 - np.arange(len(self.learner))

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Per-learner sum of a per-event array."""
        return np.bincount(self.learner, weights=values, minlength=self.n_learners)

    def mean(self, values: np.ndarray) -> np.ndarray:
        """Per-learner mean; NaN for learners without events."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.sum(values) / self.counts

    def last(self, values: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """Each learner's value at their latest event (`fill` if none)."""
        out = np.full(self.n_learners, fill, dtype=float)
        has = self.counts > 0
        out[has] = values[self.ends[has] - 1]
        return out

    def reduce(self, ufunc: np.ufunc, values: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """Per-learner ufunc.reduceat (max, min, ...), `fill` for learners without events."""
        out = np.full(self.n_learners, fill, dtype=float)
        has = self.counts > 0
        if has.any():
            out[has] = ufunc.reduceat(values, self.starts[has])
        return out


def segments(learner: np.ndarray, n_learners: int, times: np.ndarray | None = None) -> Segments:
    """Validate sorted learner indices (and times within each learner) and build the offsets."""
    learner = np.asarray(learner, dtype=np.int64)
    if learner.ndim != 1:
        raise AnalyticsInputError("learner must be a 1-D array")
    if len(learner) and (learner[0] < 0 or learner[-1] >= n_learners):
        raise AnalyticsInputError(f"learner indices must lie in 0..{n_learners - 1}")
    steps = np.diff(learner)
    if (steps < 0).any():
        raise AnalyticsInputError("events must be sorted by learner (use sort_by_learner_time)")
    if times is not None:
        times = np.asarray(times, dtype=float)
        if len(times) != len(learner):
            raise AnalyticsInputError("times and learner must have the same length")
        if ((np.diff(times) < 0) & (steps == 0)).any():
            raise AnalyticsInputError("events must be sorted by time within each learner")
    counts = np.bincount(learner, minlength=n_learners).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    return Segments(learner, counts, starts)


def take_where(mask: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The elements of each array where mask is true, in order.

    Same result as arrays[mask], several times faster on large half-selected masks (it avoids
    boolean indexing's unpredictable branches), and the index is computed once for all arrays.
    """
    index = np.flatnonzero(mask)
    return tuple(np.asarray(a).take(index) for a in arrays)


def sort_by_learner_time(learner: np.ndarray, times: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return (learner, times, *columns) reordered by learner, then time (stable)."""
    order = np.lexsort((times, learner))
    return (np.asarray(learner)[order], np.asarray(times)[order], *(np.asarray(c)[order] for c in columns))
