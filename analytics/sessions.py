"""Learning sessions derived from many learners' events at once.

A session is a run of one learner's events in which no pause exceeds the gap (default 30 minutes):
the pause runs from the end of what came before (an event's time plus its reported duration, so a
40-minute video does not end a session) to the next event. Heartbeats (`presence`) are not learning
events: each says the learner was there at its time and, with a duration, for that long before it
("since the last beat"), so a client that beats every few minutes keeps its learner's session open (or
opens one), but heartbeats are not counted among a session's events, nor their durations as active time.
A session is open at `now` while the pause since its end has not yet exceeded the gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_GAP_SECONDS = 30 * 60
TIMES_OF_DAY = ("night", "morning", "afternoon", "evening")  # local hours 0-6, 6-12, 12-18, 18-24
LEARNER_STRIDE = 1 << 42  # milliseconds: keeps each learner's times apart in one running maximum


@dataclass(frozen=True)
class Sessions:
    """One row per session, ordered by learner then start."""

    learner: np.ndarray  # learner index
    start: np.ndarray  # epoch seconds of the first event
    end: np.ndarray  # latest event time + duration
    events: np.ndarray  # learning events in the session (heartbeats not counted)
    active_seconds: np.ndarray  # reported durations of learning events summed
    kind_counts: np.ndarray  # (sessions, n_kinds) events of each kind (heartbeats too)

    @property
    def minutes(self) -> np.ndarray:
        return (self.end - self.start) / 60.0


def derive_sessions(
    learner: np.ndarray,
    time: np.ndarray,
    duration: np.ndarray,
    kind: np.ndarray,
    n_kinds: int,
    gap_seconds: float = DEFAULT_GAP_SECONDS,
    presence: np.ndarray | None = None,
) -> Sessions:
    """Split events (sorted by learner, then time; NaN duration = none reported) into sessions.
    `presence` marks heartbeats: their duration reaches back from their time, and they count as no event."""
    if gap_seconds <= 0:
        raise ValueError("gap_seconds must be positive")
    learner = np.asarray(learner, dtype=np.int64)
    time = np.asarray(time, dtype=float)
    duration = np.nan_to_num(np.asarray(duration, dtype=float), nan=0.0).clip(min=0.0)
    if len(time) == 0:
        empty = np.zeros(0)
        return Sessions(empty.astype(np.int64), empty, empty, empty.astype(np.int64), empty, np.zeros((0, n_kinds)))
    beat = np.zeros(len(time), dtype=bool) if presence is None else np.asarray(presence, dtype=bool)
    offset = learner * LEARNER_STRIDE
    begin = np.where(beat, time - duration, time)
    begin_ms = offset + np.round(begin * 1000).astype(np.int64)
    end = np.where(beat, time, time + duration)
    reach = np.maximum.accumulate(offset + np.round(end * 1000).astype(np.int64))  # per learner
    pause = begin_ms[1:] - reach[:-1]
    begins = np.r_[True, (learner[1:] != learner[:-1]) | (pause > round(gap_seconds * 1000))]
    session = np.cumsum(begins) - 1
    firsts = np.flatnonzero(begins)
    lasts = np.r_[firsts[1:], len(time)] - 1
    counts = np.zeros((len(firsts), n_kinds))
    np.add.at(counts, (session, np.asarray(kind, dtype=np.int64)), 1.0)
    learning = ~beat
    return Sessions(
        learner[firsts],
        np.minimum.reduceat(begin, firsts),
        (reach[lasts] - offset[lasts]) / 1000.0,
        np.bincount(session, weights=learning, minlength=len(firsts)).astype(np.int64),
        np.bincount(session, weights=np.where(learning, duration, 0.0), minlength=len(firsts)),
        counts,
    )


@dataclass(frozen=True)
class SessionSummary:
    """Per learner: how many sessions, how long, when in the day, and whether one is open now."""

    count: np.ndarray
    total_minutes: np.ndarray
    mean_minutes: np.ndarray  # NaN without sessions
    median_minutes: np.ndarray
    longest_minutes: np.ndarray
    events_per_session: np.ndarray
    time_of_day: np.ndarray  # (learners, 4) sessions starting in each of TIMES_OF_DAY
    open_now: np.ndarray  # bool
    last_end: np.ndarray  # epoch seconds; NaN without sessions


def local_time_of_day(start: np.ndarray, utc_offset_seconds: np.ndarray | float) -> np.ndarray:
    """Index into TIMES_OF_DAY of each start, at the given offset from UTC."""
    hour = np.floor(((np.asarray(start, dtype=float) + utc_offset_seconds) % 86400) / 3600)
    return (hour // 6).astype(np.int64)


def summarize_sessions(
    sessions: Sessions, n_learners: int, now: float, gap_seconds: float, utc_offset_seconds: np.ndarray | float = 0.0
) -> SessionSummary:
    """Aggregate sessions per learner (vectorized; medians by one sort)."""
    who, minutes = sessions.learner, sessions.minutes
    count = np.bincount(who, minlength=n_learners)
    total = np.bincount(who, weights=minutes, minlength=n_learners)
    events = np.bincount(who, weights=sessions.events, minlength=n_learners)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean, per_session = total / count, events / count
    order = np.lexsort((minutes, who))
    starts = np.r_[0, np.cumsum(count)[:-1]]
    sorted_minutes = minutes[order]
    has = count > 0
    low = sorted_minutes[(starts + (count - 1) // 2)[has]]
    high = sorted_minutes[(starts + count // 2)[has]]
    median, longest, last_end = np.full(n_learners, np.nan), np.full(n_learners, np.nan), np.full(n_learners, np.nan)
    median[has] = (low + high) / 2.0
    longest[has] = sorted_minutes[(starts + count - 1)[has]]
    np.fmax.at(last_end, who, sessions.end)
    time_of_day = np.zeros((n_learners, len(TIMES_OF_DAY)), dtype=np.int64)
    np.add.at(time_of_day, (who, local_time_of_day(sessions.start, utc_offset_seconds)), 1)
    open_now = has & (now - np.nan_to_num(last_end, nan=-np.inf) <= gap_seconds)
    return SessionSummary(count, total, mean, median, longest, per_session, time_of_day, open_now, last_end)
