"""Learning sessions from many learners' events at once (pure: no app)."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.sessions import TIMES_OF_DAY, derive_sessions, summarize_sessions

MIN = 60.0
DAY = 86400.0
T0 = 20_000 * DAY  # a UTC midnight


def sessions_of(rows: list[tuple[int, float, float]], gap: float = 30 * MIN):
    """rows: (learner, time, duration) sorted by learner then time; every event of kind 0."""
    learner, time, duration = (np.array(column) for column in zip(*rows))
    return derive_sessions(learner, time, duration, np.zeros(len(rows), dtype=int), 2, gap)


def test_a_pause_over_the_gap_ends_a_session_and_learners_never_share_one():
    s = sessions_of(
        [
            (0, T0 + 9 * 3600, 0),
            (0, T0 + 9 * 3600 + 10 * MIN, 5 * MIN),
            (0, T0 + 9 * 3600 + 44 * MIN, 0),  # 29 min after the previous one ended: same session
            (0, T0 + 9 * 3600 + 80 * MIN, 0),  # 36 min later: a new one
            (1, T0 + 9 * 3600 + 81 * MIN, 0),  # another learner, a minute later: their own
        ]
    )
    assert s.learner.tolist() == [0, 0, 1]
    assert s.events.tolist() == [3, 1, 1]
    assert s.minutes.tolist() == [44.0, 0.0, 0.0]
    assert s.active_seconds.tolist() == [5 * MIN, 0, 0]


def test_a_long_reported_duration_bridges_a_pause_and_heartbeats_keep_a_session_open():
    video = sessions_of([(0, T0, 40 * MIN), (0, T0 + 45 * MIN, 0)])
    assert len(video.start) == 1 and video.minutes[0] == 45.0
    beats = [(0, T0 + k * 10 * MIN, 10 * MIN) for k in range(12)]  # two hours of 10-minute heartbeats
    assert len(sessions_of(beats).start) == 1
    assert len(sessions_of(beats, gap=5 * MIN).start) == 1, "each beat's duration covers the pause"
    assert len(sessions_of([(0, T0, 0), (0, T0 + 10 * MIN, 0)], gap=5 * MIN).start) == 2


def test_heartbeats_extend_or_open_a_session_but_are_not_its_events():
    """A heartbeat's duration reaches back ("since the last beat"), never forward; it counts as no event."""
    learner = np.zeros(5, dtype=int)
    time = T0 + np.array([0, 25, 50, 75, 76]) * MIN
    duration = np.array([0, 25, 25, 25, 0]) * MIN
    kind = np.array([0, 1, 1, 1, 0])  # kind 1: heartbeats
    s = derive_sessions(learner, time, duration, kind, 2, 5 * MIN, presence=kind == 1)
    assert len(s.start) == 1 and s.start[0] == T0 and s.minutes[0] == 76.0, "each beat covers the 25 min before it"
    assert s.events.tolist() == [2] and s.active_seconds.tolist() == [0.0]
    assert s.kind_counts.tolist() == [[2.0, 3.0]]
    alone = derive_sessions(
        np.zeros(2, dtype=int),
        T0 + np.array([10, 20]) * MIN,
        np.array([10, 10]) * MIN,
        np.ones(2, dtype=int),
        2,
        30 * MIN,
        presence=np.ones(2, dtype=bool),
    )
    assert (alone.start.tolist(), alone.end.tolist(), alone.events.tolist()) == ([T0], [T0 + 20 * MIN], [0])
    as_activity = derive_sessions(learner, time, duration, kind, 2, 5 * MIN)
    assert as_activity.events.tolist() == [1, 4], "read as activity (forward), the first beat cannot bridge the pause"


def test_the_gap_is_configurable_and_must_be_positive():
    rows = [(0, T0, 0), (0, T0 + 20 * MIN, 0)]
    assert len(sessions_of(rows, gap=30 * MIN).start) == 1 and len(sessions_of(rows, gap=15 * MIN).start) == 2
    with pytest.raises(ValueError):
        sessions_of(rows, gap=0)


def test_summary_counts_lengths_time_of_day_and_open_sessions_per_learner():
    rows = [
        (0, T0 + 8 * 3600, 0),
        (0, T0 + 8 * 3600 + 20 * MIN, 0),  # a 20-minute morning session
        (0, T0 + 19 * 3600, 30 * MIN),
        (0, T0 + 19 * 3600 + 30 * MIN, 30 * MIN),  # a 60-minute evening one
        (0, T0 + 23 * 3600, 0),
        (0, T0 + 23 * 3600 + 10 * MIN, 0),  # 10 minutes, late evening, still open at `now`
        (2, T0 + 2 * 3600, 0),  # learner 2: one night-time event; learner 1: nothing
    ]
    s = sessions_of(rows)
    now = T0 + 23 * 3600 + 25 * MIN
    summary = summarize_sessions(s, 3, now, 30 * MIN)
    assert summary.count.tolist() == [3, 0, 1]
    assert summary.total_minutes[0] == 90.0 and summary.mean_minutes[0] == 30.0
    assert summary.median_minutes[0] == 20.0 and summary.longest_minutes[0] == 60.0
    assert np.isnan(summary.median_minutes[1]) and np.isnan(summary.mean_minutes[1])
    assert summary.events_per_session[0] == 2.0
    assert dict(zip(TIMES_OF_DAY, summary.time_of_day[0].tolist())) == {
        "night": 0,
        "morning": 1,
        "afternoon": 0,
        "evening": 2,
    }
    assert summary.open_now.tolist() == [True, False, False]
    shifted = summarize_sessions(s, 3, now, 30 * MIN, utc_offset_seconds=-3 * 3600.0)  # three hours behind UTC
    assert shifted.time_of_day[2].tolist() == [0, 0, 0, 1], "02:00 UTC is 23:00 the evening before"


def test_no_events_no_sessions():
    s = derive_sessions(np.array([]), np.array([]), np.array([]), np.array([]), 2)
    summary = summarize_sessions(s, 2, T0, 30 * MIN)
    assert len(s.start) == 0 and summary.count.tolist() == [0, 0] and not summary.open_now.any()
