"""A simulated training population for the cold-start risk model: documented latent behaviour, outcomes drawn from it.

Nothing here is data: the shares, ranges and outcome laws below are stated assumptions, chosen to
span what the alert rules look at (pass level, declines, silences, stalls, bursty but fine study).
The cold-start coefficients are fitted on one seed of it (analytics/cold_start_fit.json says which);
they are a prior until the platform's own labelled learners train the real model (analytics.risk).

Per learner (days are days before `now`):
  history    first activity HISTORY_DAYS[0]..[1] days ago
  ability    N(76, 9) clipped to 40..98; score noise sd uniform 2..9; one score on ~40% of active days
  kind       regular (active on 60-95% of days), bursty (clumps of 2-3 active days, ~1 day in 3),
             decliner (regular; falls 8..40 points over the last 7..21 days), stopped (regular, then
             silent since 3..24 days), stuck (regular, no module completed for the last 5..18 days)
  modules    each active day completes a module with probability 0.25..0.6
Outcome (label 1 = fails or drops out), independent draws given the latent state:
  fails      P = Phi((60 - current true level) / 6)   (the level after any decline)
  drops      stopped: P = 1 - exp(-silence / 5 days) (a short silence is often a break);
             stuck: 0.35; everyone: 0.03 (reasons no signal shows)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from analytics.grouping import SECONDS_PER_DAY, sort_by_learner_time
from analytics.learner_metrics import KIND_CODES, EventArrays

KINDS = ("regular", "bursty", "decliner", "stopped", "stuck")
SHARES = (0.62, 0.12, 0.08, 0.10, 0.08)
HISTORY_DAYS = (14, 56)
NOW = 1_780_000_000.0


@dataclass(frozen=True)
class Population:
    events: EventArrays
    label: np.ndarray  # 1 = fails or drops out
    kind: np.ndarray  # index into KINDS
    now: float


def _active_days(kind: np.ndarray, history: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, days) bool: active on each day (column d = d days ago, partial today excluded)."""
    n, days = len(kind), HISTORY_DAYS[1]
    ago = np.arange(days)[None, :]
    regular = rng.random((n, days)) < rng.uniform(0.6, 0.95, n)[:, None]
    start = rng.random((n, days + 2)) < 0.13
    bursts = (start[:, :-2] | start[:, 1:-1] | start[:, 2:]) & (rng.random((n, days)) < 0.9)
    active = np.where((kind == KINDS.index("bursty"))[:, None], bursts, regular)
    silence = np.where(kind == KINDS.index("stopped"), rng.uniform(3, 24, n), 0.0)
    return active & (ago < history[:, None]) & (ago >= 1) & (ago >= np.ceil(silence)[:, None])


def _levels(kind: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(n, days) true score level per day, and the level now."""
    ago = np.arange(HISTORY_DAYS[1])[None, :].astype(float)
    ability = np.clip(rng.normal(76, 9, n), 40, 98)
    drop = np.where(kind == KINDS.index("decliner"), rng.uniform(8, 40, n), 0.0)
    span = rng.uniform(7, 21, n)
    level = ability[:, None] - drop[:, None] * np.clip((span[:, None] - ago) / span[:, None], 0, 1)
    return level, ability - drop


def simulate_population(n: int, seed: int, now: float = NOW) -> Population:
    """n learners of the documented kinds, with their events and a drawn outcome, reproducible from the seed."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(len(KINDS), n, p=SHARES)
    history = rng.integers(*HISTORY_DAYS, n, endpoint=True)
    active = _active_days(kind, history, rng)
    level, level_now = _levels(kind, n, rng)
    scored = active & (rng.random(active.shape) < 0.4)
    stall = np.where(kind == KINDS.index("stuck"), rng.uniform(5, 18, n), 0.0)
    module_rate = rng.uniform(0.25, 0.6, n)[:, None]
    completed = active & (rng.random(active.shape) < module_rate) & (np.arange(active.shape[1]) >= stall[:, None])
    noise = rng.uniform(2, 9, n)[:, None]
    score = np.clip(level + rng.normal(0, 1, level.shape) * noise, 0, 100)
    parts = []
    for kind_code, mask in ((KIND_CODES["activity"], active), (KIND_CODES["assessment"], scored)):
        who, day = np.nonzero(mask)
        parts.append((who, day, np.full(len(who), kind_code), score[who, day]))
    who, day = np.nonzero(completed)
    parts.append((who, day, np.full(len(who), KIND_CODES["module_completed"]), np.full(len(who), np.nan)))
    learner, ago, codes, values = (np.concatenate(column) for column in zip(*parts, strict=True))
    time = now - (ago + rng.uniform(0.05, 0.95, len(ago))) * SECONDS_PER_DAY
    values = np.where(codes == KIND_CODES["assessment"], values, np.nan)
    learner, time, codes, values = sort_by_learner_time(learner.astype(np.int64), time, codes.astype(np.int8), values)
    events = EventArrays(n, learner, time, codes, values)
    return Population(events, _outcomes(kind, level_now, active, rng), kind, now)


def _outcomes(kind: np.ndarray, level_now: np.ndarray, active: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw fail-or-drop per learner from the documented laws."""
    n = len(kind)
    fails = rng.random(n) < stats.norm.cdf((60 - level_now) / 6)
    silence = np.where(active.any(axis=1), np.argmax(active, axis=1), active.shape[1])  # days since last active
    p_drop = np.where(kind == KINDS.index("stopped"), 1 - np.exp(-silence / 5.0), 0.0)
    p_drop = np.where(kind == KINDS.index("stuck"), 0.35, p_drop)
    drops = rng.random(n) < 1 - (1 - p_drop) * (1 - 0.03)
    return (fails | drops).astype(np.int64)
