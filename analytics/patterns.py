"""When learners work: activity by hour of day and day of week, and their peak periods (UTC)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics.grouping import SECONDS_PER_DAY, Segments

PERIODS = ("night", "morning", "afternoon", "evening")  # 0-5, 6-11, 12-17, 18-23 h
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class ProductivityPatterns:
    by_hour: np.ndarray  # (n_learners, 24) event counts
    by_weekday: np.ndarray  # (n_learners, 7) event counts, Monday first
    peak_hour: np.ndarray  # 0..23, -1 without events
    peak_weekday: np.ndarray  # 0 = Monday .. 6, -1 without events
    peak_period: np.ndarray  # index into PERIODS, -1 without events


def compute_patterns(seg: Segments, times: np.ndarray) -> ProductivityPatterns:
    """Hour-of-day and day-of-week histograms per learner, with their peaks (ties: earliest)."""
    by_hour, by_weekday = histograms(seg, times)
    return patterns_of(by_hour, by_weekday)


def histograms(seg: Segments, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Events per learner by UTC hour of day (n, 24) and by weekday, Monday first (n, 7)."""
    times = np.asarray(times, dtype=float)
    hour = (np.floor(times / 3600.0) % 24).astype(np.int64)
    weekday = (np.floor(times / SECONDS_PER_DAY).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    n = seg.n_learners
    by_hour = np.bincount(seg.learner * 24 + hour, minlength=n * 24).reshape(n, 24)
    by_weekday = np.bincount(seg.learner * 7 + weekday, minlength=n * 7).reshape(n, 7)
    return by_hour, by_weekday


def patterns_of(by_hour: np.ndarray, by_weekday: np.ndarray) -> ProductivityPatterns:
    """The patterns of these histograms (kept ones too: a learner report reads them from its digest)."""
    n = len(by_hour)
    by_period = by_hour.reshape(n, 4, 6).sum(axis=2)
    has = by_hour.sum(axis=1) > 0
    return ProductivityPatterns(
        by_hour,
        by_weekday,
        np.where(has, by_hour.argmax(axis=1), -1),
        np.where(has, by_weekday.argmax(axis=1), -1),
        np.where(has, by_period.argmax(axis=1), -1),
    )
