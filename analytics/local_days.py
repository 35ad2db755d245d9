"""Whole local days in a time zone: which past day an event fell on, never counting today's partial day.

Day boundaries are the zone's real midnights (computed once per call with zoneinfo, so daylight
saving days of 23 or 25 hours are right); events are binned with one searchsorted, vectorized.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from analytics.grouping import Segments, take_where

DAY_WINDOW = 28  # whole days kept; day-rule windows and minimum histories are capped at this


def day_edges(now: float, zone: str, days: int = DAY_WINDOW) -> np.ndarray:
    """Epoch seconds of the local midnights starting the last `days` whole days, then today's (days + 1)."""
    tz = ZoneInfo(zone)
    today = datetime.fromtimestamp(now, tz).date()
    starts = [datetime.combine(today - timedelta(days=k), time(0), tz) for k in range(days, -1, -1)]
    return np.array([start.timestamp() for start in starts])


@dataclass(frozen=True)
class WholeDays:
    """Per learner: activity counts on each whole past local day, and how many whole days they have existed."""

    counts: np.ndarray  # (n, days) oldest first; the last column is yesterday
    history_days: np.ndarray  # whole days from the local day of the first event to today (0: first seen today)


def whole_day_counts(seg: Segments, times: np.ndarray, edges: np.ndarray) -> WholeDays:
    """Count events per whole local day between edges[0] and edges[-1] (today's start), for every learner."""
    times = np.asarray(times, dtype=float)
    days = len(edges) - 1
    day = np.searchsorted(edges, times, side="right") - 1  # -1 before the window, days for today or later
    inside = (day >= 0) & (day < days)
    learner, day_in = take_where(inside, seg.learner, day)
    counts = np.bincount(learner * days + day_in, minlength=seg.n_learners * days).reshape(seg.n_learners, days)
    first_day = np.searchsorted(edges, seg.reduce(np.minimum, times, fill=np.inf), side="right") - 1
    history = np.where(first_day < 0, days + 1, days - first_day)  # before the window: more than `days`
    return WholeDays(counts, np.where(seg.counts > 0, history, 0).astype(np.int64))
