"""A learner's event history cut down to what their metrics and alert rules need at any later instant.

The periodic sweeps used to read every learner's whole event log. The metrics read history in only
a few ways, so a digest kept per learner (refreshed whenever the learner is evaluated) answers them
all without the log:

* scores: every assessment, in order (the score statistics, trends and baseline tests use them all);
* completions: every module completion (the stagnation rule compares the open gap with the learner's pace);
* time windows (velocity, consistency, whole local days, at most ~30 days back from "now"): every
  engagement event of the last DIGEST_DAYS days before the digest was built, and anything later;
* recency and history length: the first and the last engagement event, and the last module completion;
* streaks: the longest run of active days ever and the length of the last run (two numbers).

Kept events stay in their original order, so the metrics computed from a digest at any instant
after it was built are the ones the whole log gives (tests/test_digests.py checks it on planted
data). What grows with history is only the assessments (17 bytes each).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from analytics.activity import compute_streaks, day_numbers
from analytics.grouping import SECONDS_PER_DAY, segments
from analytics.learner_metrics import ENGAGEMENT_KINDS, KIND_CODES, EventArrays, LearnerMetrics

DIGEST_DAYS = 32  # > the 28-day windows plus a local day and a time-zone offset
RECORD = np.dtype([("time", "<f8"), ("percent", "<f8"), ("kind", "i1")])  # 17 bytes per kept event


@dataclass(frozen=True)
class Digests:
    """Per learner: the kept events (packed) and the two streak numbers the kept events cannot give."""

    blobs: list[bytes]
    longest_streak: np.ndarray  # int64: longest run of active UTC days ever
    last_run: np.ndarray  # int64: length of the run that ends on the last active day (0: never active)


def _first_last(mask: np.ndarray, events: EventArrays) -> tuple[np.ndarray, np.ndarray]:
    """Indices (into events) of each learner's first and last event selected by mask."""
    where = np.flatnonzero(mask)
    seg = segments(events.learner[where], events.n_learners)
    has = seg.counts > 0
    return where[seg.starts[has]], where[seg.ends[has] - 1]


def kept_events(events: EventArrays, built_at: float) -> np.ndarray:
    """Which events a digest built at `built_at` keeps (bool per event)."""
    active = events.kind <= max(ENGAGEMENT_KINDS)
    keep = (
        (events.kind == KIND_CODES["assessment"])
        | (events.kind == KIND_CODES["module_completed"])  # the stagnation rule weighs a gap against them all
        | (active & (events.time > built_at - DIGEST_DAYS * SECONDS_PER_DAY))
    )
    first_active, last_active = _first_last(active, events)
    _, last_module = _first_last(events.kind == KIND_CODES["module_completed"], events)
    keep[first_active] = keep[last_active] = keep[last_module] = True
    return keep


def build_digests(events: EventArrays, built_at: float) -> Digests:
    """Digests of every learner of `events` (learners without events get an empty one)."""
    keep = kept_events(events, built_at)
    active = events.kind <= max(ENGAGEMENT_KINDS)
    streaks = compute_streaks(segments(events.learner[active], events.n_learners), events.time[active], 0.0)
    records = np.empty(int(keep.sum()), RECORD)  # with now = 0 every last run is "current": its length
    records["time"], records["percent"], records["kind"] = events.time[keep], events.percent[keep], events.kind[keep]
    counts = np.bincount(events.learner[keep], minlength=events.n_learners)
    edges = np.r_[0, np.cumsum(counts)] * RECORD.itemsize
    data = records.tobytes()
    blobs = [data[edges[i] : edges[i + 1]] for i in range(events.n_learners)]
    return Digests(blobs, streaks.longest.astype(np.int64), streaks.current.astype(np.int64))


def unpack(blobs: list[bytes]) -> EventArrays:
    """The kept events of many learners (index = position in blobs) as event arrays."""
    lengths = np.array([len(blob) // RECORD.itemsize for blob in blobs], dtype=np.int64)
    return from_records(np.frombuffer(b"".join(blobs), RECORD), lengths)


def from_records(records: np.ndarray, counts: np.ndarray) -> EventArrays:
    """Event arrays from RECORD rows of consecutive learners (counts[i] rows for learner index i)."""
    learner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    return EventArrays(
        len(counts),
        learner,
        records["time"].astype(np.float64),
        records["kind"].astype(np.int8),
        records["percent"].astype(np.float64),
    )


def with_streaks(
    metrics: LearnerMetrics, events: EventArrays, longest: np.ndarray, last_run: np.ndarray, now: float
) -> LearnerMetrics:
    """Metrics computed from digests, with the streaks the whole history gives: the last run counts
    as current while it ends today or yesterday (analytics.activity.compute_streaks)."""
    active = events.kind <= max(ENGAGEMENT_KINDS)
    last_active = segments(events.learner[active], events.n_learners).last(events.time[active])
    today = int(day_numbers(np.array([now]))[0])
    last_day = day_numbers(np.nan_to_num(last_active, nan=0.0))
    current = np.where(~np.isnan(last_active) & (last_day >= today - 1), last_run, 0)
    return replace(metrics, current_streak=current.astype(np.int64), longest_streak=np.asarray(longest, np.int64))
