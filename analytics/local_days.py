"""Whole local days in a time zone: which past day an event fell on, never counting today's partial day.

Day boundaries are the zone's real midnights (computed once per call with zoneinfo, so daylight
saving days of 23 or 25 hours are right); events are binned with one searchsorted, vectorized.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

import numpy as np

from analytics.grouping import Segments, segments, take_where

DAY_WINDOW = 28  # whole days kept; day-rule windows and minimum histories are capped at this
TIME_ZONE_MAX_LENGTH = 64


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    """An IANA zone name this machine knows (e.g. Europe/Paris); never a file path or an offset string."""
    return isinstance(name, str) and name in _zone_names()


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


def zoned_whole_day_counts(seg: Segments, times: np.ndarray, now: float, zones: np.ndarray, days: int) -> WholeDays:
    """whole_day_counts where each learner counts the days of their own zone (zones[learner], IANA names).

    One pass per distinct zone (a school has a handful), each vectorized over that zone's learners.
    """
    times = np.asarray(times, dtype=float)
    names, zone_of = np.unique(np.asarray(zones, dtype=str), return_inverse=True)
    if len(names) == 1:
        return whole_day_counts(seg, times, day_edges(now, str(names[0]), days))
    counts = np.zeros((seg.n_learners, days), dtype=np.int64)
    history = np.zeros(seg.n_learners, dtype=np.int64)
    for z, name in enumerate(names):
        members = zone_of == z
        keep = members[seg.learner]
        index = np.cumsum(members) - 1  # learner -> row among this zone's learners
        learner, zone_times = take_where(keep, index[seg.learner], times)
        part = whole_day_counts(segments(learner, int(members.sum())), zone_times, day_edges(now, str(name), days))
        counts[members], history[members] = part.counts, part.history_days
    return WholeDays(counts, history)
