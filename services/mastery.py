"""Advance skill mastery by one BKT step per stored assessment, inside the ingest transaction.

O(1) per event, applied exactly once (it commits or rolls back with the events), and safe against
concurrent batches: the update locks each row, and a concurrent writer's update is applied on top.
A batch's attempts are split into rounds (the k-th attempt at each learner-skill pair), in time order.
PostgreSQL: per round, one upsert of the attempts (arrays joined to the skills' parameters), in key order so
that concurrent batches never deadlock. SQLite (embedded): one portable upsert per round.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from analytics.bkt import DEFAULT_PARAMS, BKTParams, bkt_update
from models import SkillMastery, SkillModel, db
from models.queries import driver_cursor
from models.upsert import int_array, text_array

MASTERY_THRESHOLD = 60.0  # percent at or above which an attempt counts as correct
D = DEFAULT_PARAMS

_ATTEMPTS = (
    "unnest(%(learners)s::int[], %(skills)s::text[], %(correct)s::int[]) AS a(learner_id, skill, correct) "
    "LEFT JOIN skill_models m ON m.skill = a.skill"
)
_GUESS, _SLIP, _LEARN = (f"COALESCE(m.{name}, {D[name]!r})" for name in ("p_guess", "p_slip", "p_learn"))


def _bkt_step(p: str, correct: str, guess: str, slip: str, learn: str) -> str:
    """SQL for one BKT update of mastery p after an attempt (Bayes on the answer, then learning)."""
    posterior = (
        f"(CASE WHEN {correct} = 1 THEN {p} * (1 - {slip}) / ({p} * (1 - {slip}) + (1 - {p}) * {guess}) "
        f"ELSE {p} * {slip} / ({p} * {slip} + (1 - {p}) * (1 - {guess})) END)"
    )
    return f"{posterior} + (1 - {posterior}) * {learn}"


# One upsert per round, its rows in key order: a new pair takes the first step from the skill's prior, a
# stored one the step from its mastery. Batches sharing pairs lock them in the same order, so one waits for
# the other. (Before: an INSERT of the missing pairs, then an UPDATE that locked rows in whatever order its
# join produced them; two concurrent batches of bench/ingest.py deadlocked on it, a 500.)
_PRIOR = f"COALESCE(m.p_init, {D['p_init']!r})"
_PARAMS_OF_EXCLUDED = "(SELECT excluded.skill AS skill) a LEFT JOIN skill_models m ON m.skill = a.skill"
POSTGRES_UPSERT = (
    "INSERT INTO skill_mastery AS s (learner_id, skill, p_mastery, attempts, correct, updated_at) "
    f"SELECT a.learner_id, a.skill, {_bkt_step(_PRIOR, 'a.correct', _GUESS, _SLIP, _LEARN)}, 1, a.correct, now() "
    f"FROM {_ATTEMPTS} ORDER BY a.learner_id, a.skill "
    "ON CONFLICT (learner_id, skill) DO UPDATE SET (p_mastery, attempts, correct, updated_at) = "
    f"(SELECT {_bkt_step('s.p_mastery', 'excluded.correct', _GUESS, _SLIP, _LEARN)}, "
    f"s.attempts + 1, s.correct + excluded.correct, excluded.updated_at FROM {_PARAMS_OF_EXCLUDED})"
)


def _param(name: str) -> str:
    return f"COALESCE((SELECT {name} FROM skill_models WHERE skill_models.skill = skill_mastery.skill), {D[name]!r})"


PORTABLE_UPSERT = sa.text(
    "INSERT INTO skill_mastery (learner_id, skill, p_mastery, attempts, correct, updated_at) "
    "VALUES (:learner_id, :skill, :p_mastery, 1, :correct, :updated_at) "
    "ON CONFLICT (learner_id, skill) DO UPDATE SET p_mastery = "
    + _bkt_step("skill_mastery.p_mastery", "excluded.correct", _param("p_guess"), _param("p_slip"), _param("p_learn"))
    + ", attempts = skill_mastery.attempts + 1, correct = skill_mastery.correct + excluded.correct, "
    "updated_at = excluded.updated_at"
).bindparams(sa.bindparam("updated_at", type_=SkillMastery.__table__.c.updated_at.type))


def _rounds(events: list[dict[str, Any]], learner_ids: dict[str, int]) -> list[list[tuple[int, str, int]]]:
    """Attempts in time order, split so that no round holds two attempts at the same learner-skill pair."""
    attempts = sorted(
        (
            (
                learner_ids[e["learner"]],
                e["skill"],
                e["occurred_at"],
                int(100.0 * e["score"] / e["max_score"] >= MASTERY_THRESHOLD),
            )
            for e in events
            if e["kind"] == "assessment" and e.get("skill")
        ),
        key=lambda a: (a[0], a[1], a[2]),
    )
    rounds: list[list[tuple[int, str, int]]] = []
    seen: dict[tuple[int, str], int] = {}
    for learner_id, skill, _, correct in attempts:
        k = seen[(learner_id, skill)] = seen.get((learner_id, skill), -1) + 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append((learner_id, skill, correct))
    return rounds


def skill_params(skills: list[str]) -> dict[str, BKTParams]:
    """Fitted parameters of these skills; defaults for skills not fitted yet."""
    rows = db.session.scalars(sa.select(SkillModel).where(SkillModel.skill.in_(skills))).all() if skills else []
    fitted = {row.skill: BKTParams(row.p_init, row.p_learn, row.p_guess, row.p_slip) for row in rows}
    return {skill: fitted.get(skill, BKTParams(**DEFAULT_PARAMS)) for skill in skills}


def _portable_rows(
    attempts: list[tuple[int, str, int]], params: dict[str, BKTParams], now: datetime
) -> list[dict[str, Any]]:
    """Rows for the portable upsert; p_mastery is the first step from the prior, used when the pair is new."""
    p = [params[s] for _, s, _ in attempts]
    first = bkt_update(
        np.array([x.p_init for x in p]),
        np.array([c for _, _, c in attempts], dtype=bool),
        np.array([x.p_learn for x in p]),
        np.array([x.p_guess for x in p]),
        np.array([x.p_slip for x in p]),
    )
    return [
        {"learner_id": l, "skill": s, "p_mastery": float(m), "correct": c, "updated_at": now}
        for (l, s, c), m in zip(attempts, first)
    ]


def apply_assessments(events: list[dict[str, Any]], learner_ids: dict[str, int]) -> int:
    """Advance mastery for stored assessment events that name a skill; returns attempts applied."""
    rounds = _rounds(events, learner_ids)
    if db.engine.dialect.name == "postgresql":
        cursor = driver_cursor()
        for attempts in rounds:
            arrays = {  # as array literals: psycopg's list dumper costs Python per item
                "learners": int_array([a[0] for a in attempts]),
                "skills": text_array([a[1] for a in attempts]),
                "correct": int_array([a[2] for a in attempts]),
            }
            cursor.execute(POSTGRES_UPSERT, arrays)
    elif rounds:
        now = datetime.now(UTC)
        params = skill_params(sorted({s for attempts in rounds for _, s, _ in attempts}))
        for attempts in rounds:
            db.session.execute(PORTABLE_UPSERT, _portable_rows(attempts, params, now))
    return sum(len(attempts) for attempts in rounds)
