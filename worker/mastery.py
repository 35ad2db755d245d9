"""Advance skill mastery by one BKT step per stored assessment, inside the ingest transaction.

One INSERT ... ON CONFLICT DO UPDATE per round computes the BKT update in SQL from the row's
current mastery: O(1) per event, applied exactly once (it commits or rolls back with the events),
and safe against concurrent batches (the conflicting row is locked by the upsert). A batch with
several attempts at one skill by one learner applies them in time order, one round each.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np
import sqlalchemy as sa

from analytics.bkt import DEFAULT_PARAMS, bkt_update
from models import SkillMastery, SkillModel, db

MASTERY_THRESHOLD = 60.0  # percent at or above which an attempt counts as correct


def _param(name: str) -> str:
    """SQL for the skill's fitted parameter, or its default while the skill has not been fitted."""
    return (f"COALESCE((SELECT {name} FROM skill_models WHERE skill_models.skill = skill_mastery.skill), "
            f"{DEFAULT_PARAMS[name]!r})")


_P, _C = "skill_mastery.p_mastery", "excluded.correct"
_POSTERIOR = (f"(CASE WHEN {_C} = 1 THEN {_P} * (1 - {_param('p_slip')}) / ({_P} * (1 - {_param('p_slip')}) + (1 - {_P}) * {_param('p_guess')}) "
              f"ELSE {_P} * {_param('p_slip')} / ({_P} * {_param('p_slip')} + (1 - {_P}) * (1 - {_param('p_guess')})) END)")
# Plain SQL (PostgreSQL and SQLite alike): cacheable, and run through the driver's executemany.
UPSERT = sa.text(
    "INSERT INTO skill_mastery (learner_id, skill, p_mastery, attempts, correct, updated_at) "
    "VALUES (:learner_id, :skill, :p_mastery, 1, :correct, :updated_at) "
    "ON CONFLICT (learner_id, skill) DO UPDATE SET "
    f"p_mastery = {_POSTERIOR} + (1 - {_POSTERIOR}) * {_param('p_learn')}, "
    "attempts = skill_mastery.attempts + 1, correct = skill_mastery.correct + excluded.correct, "
    "updated_at = excluded.updated_at"
).bindparams(sa.bindparam("updated_at", type_=SkillMastery.__table__.c.updated_at.type))


def apply_assessments(events: list[dict[str, Any]], learner_ids: dict[str, int]) -> int:
    """Advance mastery for stored assessment events that name a skill; returns attempts applied."""
    attempts = sorted(((learner_ids[e["learner"]], e["skill"], e["occurred_at"], 100.0 * e["score"] / e["max_score"] >= MASTERY_THRESHOLD)
                       for e in events if e["kind"] == "assessment" and e.get("skill")), key=lambda a: (a[0], a[1], a[2]))
    if not attempts:
        return 0
    skills = sorted({skill for _, skill, _, _ in attempts})
    fitted = {row.skill: row for row in db.session.scalars(sa.select(SkillModel).where(SkillModel.skill.in_(skills)))}
    rounds: list[list[dict[str, Any]]] = []
    seen: dict[tuple[int, str], int] = {}
    now = datetime.now(timezone.utc)
    for learner_id, skill, _, correct in attempts:
        k = seen[(learner_id, skill)] = seen.get((learner_id, skill), -1) + 1
        params = fitted.get(skill)
        p_init = params.p_init if params else DEFAULT_PARAMS["p_init"]
        first = bkt_update(np.array([p_init]), np.array([correct]), params.p_learn if params else DEFAULT_PARAMS["p_learn"],
                           params.p_guess if params else DEFAULT_PARAMS["p_guess"], params.p_slip if params else DEFAULT_PARAMS["p_slip"])
        if k == len(rounds):
            rounds.append([])
        rounds[k].append({"learner_id": learner_id, "skill": skill, "p_mastery": float(first[0]), "attempts": 1,
                          "correct": int(correct), "updated_at": now})
    for rows in rounds:
        db.session.execute(UPSERT, rows)
    return len(attempts)
