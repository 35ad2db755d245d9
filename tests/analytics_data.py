"""Seeded synthetic event arrays for the pure analytics tests."""

from __future__ import annotations

import numpy as np

from analytics.grouping import segments, sort_by_learner_time

NOW = 1_780_000_000.0  # a fixed 'now' (2026) in epoch seconds


def random_scores(seed: int, n_learners: int = 80, max_events: int = 15):
    """Learners with 0..max_events assessments at random past times; some with zero or one."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, max_events + 1, n_learners)
    counts[:3] = [0, 1, 2]
    learner = np.repeat(np.arange(n_learners), counts)
    times = NOW - rng.uniform(0, 90 * 86400, len(learner))
    percent = np.clip(rng.normal(70, 15, len(learner)), 0, 100)
    learner, times, percent = sort_by_learner_time(learner, times, percent)
    return segments(learner, n_learners, times), times, percent


def per_learner(seg, *arrays):
    """Yield (learner, slices of arrays) for the reference implementations."""
    for index in range(seg.n_learners):
        part = slice(seg.starts[index], seg.ends[index])
        yield index, [np.asarray(a)[part] for a in arrays]
