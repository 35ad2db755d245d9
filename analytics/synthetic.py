"""Synthetic cohorts with planted patterns, generated vectorized (tests, benchmarks, model checks)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics.grouping import SECONDS_PER_DAY
from analytics.learner_metrics import KIND_CODES, EventArrays

PROFILES = ("steady", "decliner", "dropout", "stagnator", "inconsistent")
DEFAULT_SHARES = (0.70, 0.08, 0.08, 0.07, 0.07)


@dataclass(frozen=True)
class SyntheticCohort:
    events: EventArrays
    profile: np.ndarray  # index into PROFILES per learner
    now: float


def generate_cohort(
    n_learners: int,
    events_per_learner: float = 100.0,
    days: int = 60,
    seed: int = 0,
    shares: tuple[float, ...] = DEFAULT_SHARES,
    now: float = 1_780_000_000.0,
) -> SyntheticCohort:
    """Learners over `days` days: ~75% activity, ~17% assessments, ~8% module completions.

    decliner: scores fall ~25 points over the last third; dropout: nothing after day 0.6*days;
    stagnator: active but no progress (no modules, no assessments) in the last 15 days;
    inconsistent: all activity packed into a few bursts.
    """
    rng = np.random.default_rng(seed)
    profile = rng.choice(len(PROFILES), n_learners, p=np.asarray(shares) / np.sum(shares))
    counts = rng.poisson(events_per_learner, n_learners)
    learner = np.repeat(np.arange(n_learners), counts)
    n = len(learner)
    p = profile[learner]
    u = rng.random(n)
    kind = np.where(
        u < 0.75, KIND_CODES["activity"], np.where(u < 0.92, KIND_CODES["assessment"], KIND_CODES["module_completed"])
    ).astype(np.int8)
    day = rng.uniform(0, days, n)
    cutoff = 0.6 * days
    day = np.where(p == 2, day * cutoff / days, day)  # dropouts stop at the cutoff
    stagnant = (p == 3) & (kind != KIND_CODES["activity"])
    day = np.where(stagnant, day * (days - 15) / days, day)  # stagnators: no progress in the last 15 days
    bursts = rng.integers(0, days // 10, n) * 10 + rng.uniform(0, 1.5, n)
    day = np.where(p == 4, np.minimum(bursts, days - 0.01), day)
    time = now - (days - day) * SECONDS_PER_DAY
    ability = np.clip(rng.normal(75, 10, n_learners), 40, 98)[learner]
    decline = np.where((p == 1) & (day > days * 2 / 3), 25 * (day - days * 2 / 3) / (days / 3) + 10, 0.0)
    percent = np.clip(ability - decline + rng.normal(0, 6, n), 0, 100)
    percent = np.where(kind == KIND_CODES["assessment"], percent, np.nan)
    order = np.lexsort((time, learner))
    events = EventArrays(n_learners, learner[order], time[order], kind[order], percent[order])
    return SyntheticCohort(events, profile, now)
