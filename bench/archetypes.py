"""Seeded learners of known behaviour for bench/accuracy.py: their events, and the truth to score against.

Times are days before `now` (events are only in the past). Every learner follows one archetype;
the truth is what an educator would want flagged (True), not flagged (False), or either (None).
Future truth (completion date, score in `horizon` days) comes from continuing the same process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

HISTORY_DAYS = 35.0
MODULES = 20
ARCHETYPES = (
    "steady",
    "flat_noisy",
    "high_achiever",
    "decliner",
    "drifter",
    "disengaged",
    "stagnating",
    "inconsistent",
    "newcomer",
)
FLAT = ("steady", "flat_noisy", "high_achiever")
PLANTED_FUTURE = (*FLAT, "decliner")  # archetypes whose completion date and next score are planted (forecast truth)
RULE_NAMES = (
    "performance_decline",
    "declining_trend",
    "baseline_decline",
    "at_risk",
    "high_performance",
    "engagement_drop",
    "completion_stagnation",
    "low_consistency",
)
# archetype -> rules that must fire; rules listed in EITHER may go either way; all others must not fire.
MUST = {
    "decliner": {"performance_decline", "declining_trend", "baseline_decline", "at_risk"},
    "drifter": {"baseline_decline"},
    "high_achiever": {"high_performance"},
    "disengaged": {"engagement_drop", "completion_stagnation", "low_consistency", "at_risk"},
    "stagnating": {"completion_stagnation"},
    "inconsistent": {"low_consistency"},
}
EITHER = {
    "drifter": {"declining_trend", "at_risk"},
    "stagnating": {"at_risk"},
    "inconsistent": {"at_risk", "engagement_drop", "completion_stagnation"},
    "flat_noisy": {"performance_decline"},  # a noisy 60-point learner may truly sit under 60 for two scores
}
# A stop is clearly planted when the open gap is at least CLEAR_GAPS of the learner's own usual gaps (their
# days per module so far): even for the least regular (Poisson) learner such a gap has probability
# exp(-4) = 1.8% at their pace, under completion_stagnation's 2%. Shorter planted stops (a slow learner
# whose 8-day stop is ~3 usual gaps) may go either way for that rule: their own history cannot tell
# them from a Poisson learner's long gap. bench/scoring.py also prints the recall over all stops.
CLEAR_GAPS = 4.0
AT_RISK = {"decliner", "disengaged"}  # the risk model's positives (stagnating, inconsistent, drifter: not scored)


@dataclass
class Learner:
    name: str
    archetype: str
    events: list[dict] = field(default_factory=list)
    finish_days: float = np.nan  # days from now until the last module, NaN where the future is not planted
    future_mean: float = np.nan  # true expected score `horizon` days from now, NaN where not planted
    noise: float = 0.0
    either: set[str] = field(default_factory=set)  # rules that may go either way for this learner (see CLEAR_GAPS)
    usual_gaps: float = np.nan  # the open gap at the end, in the learner's own days per module (stoppers only)


def _level(archetype: str, rng: np.random.Generator, decline_start: float = 17.0) -> tuple:
    """(level function of days-ago, noise sd); decliners fall ~2 points a day from `decline_start` days ago."""
    if archetype == "high_achiever":
        level = rng.uniform(93, 97)
        return (lambda t: np.full_like(t, level)), 2.0
    if archetype == "decliner":
        level, drop = rng.uniform(72, 82), rng.uniform(32, 38)  # over 17 days
        return (lambda t: level - drop * np.clip(decline_start - t, 0, None) / 17.0), 4.0
    if archetype == "drifter":
        level, cut = rng.uniform(93, 97), rng.uniform(7.5, 9.5)
        return (lambda t: np.where(t > cut, level, level - 20)), 2.5
    level = rng.uniform(68, 85)  # clearly above the 60% pass level
    return (lambda t: np.full_like(t, level)), (rng.uniform(7, 8.5) if archetype == "flat_noisy" else 5.0)


def _module_times(rng: np.random.Generator, rate_per_day: float, stop_ago: float) -> tuple[np.ndarray, float]:
    """Completions (days ago) from HISTORY_DAYS on, Gamma(4) gaps; and days from now to the MODULES-th."""
    gaps = rng.gamma(4.0, 1 / (4.0 * rate_per_day), MODULES + 5)
    times = HISTORY_DAYS - np.cumsum(gaps)  # days ago; negative = in the future
    past = times[(times > stop_ago)][:MODULES]
    finish = -times[MODULES - 1] if len(past) < MODULES else 0.0
    return past, finish


def make_learner(
    index: int, archetype: str, rng: np.random.Generator, horizon: float, decline_start: float = 17.0
) -> Learner:
    """One learner's events and truth (decline_start: see _level; the bench's decliners use 17)."""
    name = f"acc{index}-{archetype}"
    learner = Learner(name, archetype)
    if archetype == "newcomer":
        first = rng.uniform(0.1, 1.5)
        learner.events = [_event(name, "activity", first), _event(name, "activity", first / 2)]
        if rng.random() < 0.5:
            learner.events.append(_event(name, "assessment", first / 3, score=rng.uniform(60, 90)))
        return learner
    stop = {"disengaged": rng.uniform(7.5, 12), "stagnating": 0.0}.get(archetype, 0.0)
    days = np.arange(HISTORY_DAYS, 0, -1.0)
    if archetype == "inconsistent":
        days = np.array([d for d in days if rng.random() < 0.25 and d >= 1] or [3.0])
    else:
        days = days[(days > stop) & (rng.random(len(days)) < 0.95)]
    level, noise = _level(archetype, rng, decline_start)
    for d in days:
        learner.events.append(_event(name, "activity", d - rng.uniform(0.1, 0.8)))
    score_days = np.arange(HISTORY_DAYS - 0.5, max(stop, 0.3), -7 / 3) - rng.uniform(0, 0.3)
    if archetype == "inconsistent":
        score_days = days[::2] - 0.5
    scores = np.clip(level(score_days) + rng.normal(0, noise, len(score_days)), 0, 100)
    learner.events += [_event(name, "assessment", d, score=s) for d, s in zip(score_days, scores, strict=True)]
    rate = rng.uniform(2.5, 3.5) / 7
    module_stop = rng.uniform(8, 12) if archetype == "stagnating" else stop
    done, finish = _module_times(rng, rate, module_stop)
    if archetype == "inconsistent":  # modules too only on the few active days
        done = np.unique(days[np.searchsorted(-days, -done).clip(0, len(days) - 1)]) - 0.05
    learner.events += [_event(name, "module_completed", d, module=f"acc-m{i}") for i, d in enumerate(done)]
    if "completion_stagnation" in MUST.get(archetype, set()):
        _mark_unclear_stop(learner, done)
    if archetype in PLANTED_FUTURE and len(done) < MODULES:
        learner.finish_days = finish
    if archetype in PLANTED_FUTURE:
        future = level(np.array([-float(horizon)]))  # a float array: full_like would truncate the level to int
        learner.future_mean, learner.noise = float(np.clip(future[0], 0, 100)), noise
    return learner


def _mark_unclear_stop(learner: Learner, done: np.ndarray) -> None:
    """Measure the open gap in the learner's own usual gaps; below CLEAR_GAPS the stop is not clearly planted."""
    if not len(done):
        return  # nothing completed: the plain days_without_progress floor decides, a clear case
    first_active = max(e["days_ago"] for e in learner.events if e["kind"] != "module_completed")
    learner.usual_gaps = float(done.min() / ((first_active - done.min()) / len(done)))
    if learner.usual_gaps < CLEAR_GAPS:
        learner.either.add("completion_stagnation")


def _event(name: str, kind: str, days_ago: float, score: float | None = None, module: str = "acc-m0") -> dict:
    event = {"learner": name, "kind": kind, "days_ago": float(days_ago), "module": module}
    if score is not None:
        event.update(score=round(float(score), 2), max_score=100)
    return event


def make_cohort(per_archetype: int, seed: int, horizon: float, day_fraction: float = 0.0) -> list[Learner]:
    """per_archetype learners of every archetype, reproducible from the seed.

    day_fraction: the part of today (in the school's time zone, UTC here) already gone at `now`. An
    inconsistent learner's active day (events 0.05-0.8 days before a whole number of days ago) is moved
    by it into one calendar day; otherwise, later in the day, one planted active day straddles midnight
    and counts as two for the day-based rules (low_consistency's recall then fell from 93% at 01:00 to
    59% at 20:00 UTC on 2,000 inconsistent learners, the rule being right about the days it saw).
    """
    rng = np.random.default_rng(seed)
    kinds = [a for a in ARCHETYPES for _ in range(per_archetype)]
    learners = [make_learner(i, kind, rng, horizon) for i, kind in enumerate(kinds)]
    for learner in learners:
        if learner.archetype == "inconsistent":
            for event in learner.events:
                event["days_ago"] += day_fraction
    return learners


def make_forecast_extras(per_archetype: int, total: int, seed: int, horizon: float) -> list[Learner]:
    """More learners of the PLANTED_FUTURE archetypes, up to `total` of each with the cohort's per_archetype.

    Forecast coverage needs hundreds of learners per row (an 80% coverage on 700 has a 95% CI of +-3 points)
    where the rules need tens; these come from their own random stream (the cohort of a seed is
    unchanged) and are named after the cohort's learners (make_cohort numbers them 0..9 per_archetype - 1).
    """
    rng = np.random.default_rng(seed + 20_000)
    kinds = [a for a in PLANTED_FUTURE for _ in range(max(0, total - per_archetype))]
    start = len(ARCHETYPES) * per_archetype
    return [make_learner(start + i, kind, rng, horizon) for i, kind in enumerate(kinds)]
