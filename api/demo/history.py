"""One demo learner's history, by profile: steady, high achiever, decliner, drifting, disengaged, stagnating,
inconsistent or newcomer. Each profile plants the pattern one of the alert rules is there to catch."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from api.demo.catalog import Catalog, learner_external_id
from api.demo.names import skill_name

# Learner n has profile DECK[(n - 1) % 20] of a deck shuffled by the seed: fixed shares at any school size.
DECK = ("steady",) * 10 + ("high_achiever",) * 2 + ("decliner",) * 2 + ("disengaged",) * 2
DECK += ("drifting", "stagnating", "inconsistent", "newcomer")
SLIPPING = ("decliner", "drifting", "disengaged")
ABSENT = ("absent", "absent", "late", "excused")


@dataclass(frozen=True)
class Day:
    """How a learner behaves on one day: chance to study a course, to be present, score shift, progress."""

    study: float
    present: float
    shift: float = 0.0
    progresses: bool = True
    enrolled: bool = True


def assign_profiles(count: int, seed: int) -> dict[int, str]:
    """Profile of each learner number 1..count, deterministic by seed."""
    deck = list(DECK)
    random.Random(f"profiles-{seed}").shuffle(deck)
    return {n: deck[(n - 1) % len(deck)] for n in range(1, count + 1)}


def _turn_day(profile: str, days: int, rng: random.Random) -> int:
    """The day a profile's pattern starts (its decline, its silence, its arrival)."""
    if profile == "decliner":
        return int(days * 0.65)
    if profile == "drifting":
        return int(days * 0.4)
    if profile == "disengaged":
        return days - rng.randint(6, 9)
    if profile == "stagnating":
        return days - rng.randint(8, 11)
    if profile == "newcomer":
        return days - min(12, max(3, days // 2))
    return days


def _day(profile: str, day: int, days: int, turn: int) -> Day:
    """The day's behaviour for a profile; after `turn` the planted pattern shows."""
    after = day >= turn
    if profile == "high_achiever":
        return Day(0.95, 0.98)
    if profile == "decliner":
        return Day(0.3, 0.6, -28.0) if after else Day(0.8, 0.93)
    if profile == "drifting":
        return Day(0.85, 0.95, -26.0 * max(0, day - turn) / max(1, days - turn))
    if profile == "disengaged":
        return Day(0.0, 0.25, progresses=False) if after else Day(0.75, 0.9)
    if profile == "stagnating":
        return Day(0.8, 0.93, progresses=not after)
    if profile == "inconsistent":
        return Day(0.9 if day % 10 < 3 else 0.06, 0.8)
    if profile == "newcomer":
        return Day(0.85, 0.95, enrolled=after)
    return Day(0.55, 0.95)


def _ability(profile: str, rng: random.Random) -> float:
    if profile in ("high_achiever", "drifting"):
        return min(99.0, rng.gauss(93, 2.5))
    return min(90.0, max(60.0, rng.gauss(76, 8)))


def _poisson(rng: random.Random, mean: float) -> int:
    count, threshold, product = 0, math.exp(-mean), rng.random()
    while product > threshold:
        count, product = count + 1, product * rng.random()
    return count


def _at(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), UTC).isoformat()


def learner_events(n: int, profile: str, start: date, days: int, seed: int, catalog: Catalog) -> list[dict[str, Any]]:
    """Every event of learner n over `days` days from `start` (attendance, activity, modules, quizzes, exams)."""
    rng = random.Random(f"{seed}-learner-{n}")
    learner, ability, turn = learner_external_id(n), _ability(profile, rng), 0
    turn = _turn_day(profile, days, rng)
    pace = rng.uniform(0.8, 1.5) * (1.4 if profile == "high_achiever" else 1.0)
    progress = {key: 0 for key in catalog.sections}
    events: list[dict[str, Any]] = []
    for offset in range(days):
        today, plan = start + timedelta(days=offset), _day(profile, offset, days, turn)
        if not plan.enrolled:
            continue
        for key in catalog.sections:
            context = _Context(learner, key, today, offset, rng, catalog.sections[key][n % 4].external_id)
            events += _attendance(context, plan)
            events += _study(context, plan, catalog.modules[key], progress, pace, n)
            events += _exams(context, plan, catalog.exams[key], ability)
            events += _quiz(context, plan, catalog.modules[key], progress[key], ability, n)
    return events


@dataclass(frozen=True)
class _Context:
    learner: str
    key: str
    today: date
    offset: int
    rng: random.Random
    section: str


def _attendance(c: _Context, plan: Day) -> list[dict[str, Any]]:
    if c.today.weekday() >= 5:
        return []
    status = "present" if c.rng.random() < plan.present else c.rng.choice(ABSENT)
    return [
        {
            "id": f"{c.learner}-att-{c.key}-{c.today}",
            "learner": c.learner,
            "kind": "attendance",
            "section": c.section,
            "date": c.today.isoformat(),
            "status": status,
        }
    ]


def _study(c: _Context, plan: Day, modules: list[Any], progress: dict[str, int], pace: float, n: int) -> list:
    """The day's learning activity in one course, and a module completed now and then."""
    if c.rng.random() >= plan.study:
        return []
    module = modules[min(progress[c.key], len(modules) - 1)]
    events: list[dict[str, Any]] = [
        {
            "id": f"{c.learner}-act-{c.key}-{c.offset}-{a}",
            "learner": c.learner,
            "kind": "activity",
            "module": module.external_id,
            "occurred_at": _at(c.today, c.rng.randint(7, 21), c.rng.randint(0, 59)),
            "duration_seconds": c.rng.randint(300, 2700),
        }
        for a in range(1 + _poisson(c.rng, 0.8))
    ]
    if plan.progresses and progress[c.key] < len(modules) and c.rng.random() < pace / 5:
        events.append(
            {
                "id": f"{c.learner}-mod-{c.key}-{progress[c.key]}",
                "learner": c.learner,
                "kind": "module_completed",
                "module": module.external_id,
                "occurred_at": _at(c.today, 20, n % 60),
            }
        )
        progress[c.key] += 1
    return events


def _quiz(c: _Context, plan: Day, modules: list[Any], done: int, ability: float, n: int) -> list:
    """A quiz every fourth day per course (half of them skipped once a learner has slipped)."""
    if c.offset % 4 != (n + len(c.key)) % 4 or not plan.progresses or (plan.shift < -20 and c.rng.random() < 0.5):
        return []
    index = min(done, len(modules) - 1)
    score = min(100.0, max(0.0, c.rng.gauss(ability + plan.shift, 6)))
    return [
        {
            "id": f"{c.learner}-quiz-{c.key}-{c.offset}",
            "learner": c.learner,
            "kind": "assessment",
            "module": modules[index].external_id,
            "skill": skill_name(c.key, index),
            "score": round(score, 1),
            "max_score": 100,
            "occurred_at": _at(c.today, 15, n % 60),
        }
    ]


def _exams(c: _Context, plan: Day, exams: list[tuple[Any, int]], ability: float) -> list:
    """Marks for the course exams held today (a learner who has stopped coming misses them)."""
    if plan.study == 0.0:
        return []
    return [
        {
            "id": f"{c.learner}-exam-{exam.external_id}",
            "learner": c.learner,
            "kind": "grade",
            "exam": exam.external_id,
            "marks": round(min(100.0, max(0.0, c.rng.gauss(ability + plan.shift, 7))), 1),
            "occurred_at": _at(c.today, 11),
        }
        for exam, day in exams
        if day == c.offset
    ]
