"""The BKT refit: each skill's parameters fitted by EM on the platform's history and its learners' mastery
rebuilt with them. The daily task cuts it into shards of skills (skill_shards) that any worker process takes,
as it does with the snapshots and cohorts: at 1M learners one process took ~470 s for all 12 skills while
the other process had the shards. Per skill the result does not depend on the shard it is refitted in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import sqlalchemy as sa

from analytics.bkt import fit_bkt, replay, to_padded
from models import Event, SkillMastery, SkillModel, db
from models.upsert import upsert_rows, write_columns
from services.mastery import MASTERY_THRESHOLD
from services.skill_data import packed_attempts

FIT_SEQUENCES = 20_000  # sequences per skill the EM fit reads (a fixed random sample beyond that)
SKILL_SHARDS = 4  # shards of the daily refit: each reads the event log once for its skills (no index by skill)
SkillShard = tuple[list[str], list[str] | None]  # skills; with a list: also every skill not in it (never fitted)
Sequences = dict[str, tuple[list[int], np.ndarray, np.ndarray]]  # skill -> learner ids, padded correct, mask


def skill_sequences(skills: Sequence[str] | None = None, besides: Sequence[str] | None = None) -> Sequences:
    """Per skill: learner ids and padded correct/mask matrices of their attempts in time order. The skills read:
    every one (neither given), or those in `skills` and, with `besides`, every skill not in `besides`."""
    if db.engine.dialect.name == "postgresql":
        packed = packed_attempts(MASTERY_THRESHOLD, skills, besides)
        return {name: _padded(*arrays) for name, arrays in packed.items()}
    query = (
        sa.select(Event.skill, Event.learner_id, Event.score, Event.max_score)
        .where(Event.kind == "assessment", Event.skill.is_not(None))
        .order_by(Event.skill, Event.learner_id, Event.occurred_at, Event.id)
    )
    if skills is not None or besides is not None:
        wanted = Event.skill.in_(list(skills or []))
        query = query.where(wanted if besides is None else sa.or_(wanted, Event.skill.not_in(list(besides))))
    by_skill: dict[str, tuple[list[int], list[int], list[bool]]] = {}
    for name, learner_id, score, max_score in db.session.execute(query):
        learners, sequence, correct = by_skill.setdefault(name, ([], [], []))
        if not learners or learners[-1] != learner_id:
            learners.append(learner_id)
        sequence.append(len(learners) - 1)
        correct.append(100.0 * score / max_score >= MASTERY_THRESHOLD)
    return {
        name: (learners, *to_padded(np.array(sequence), np.array(correct)))
        for name, (learners, sequence, correct) in by_skill.items()
    }


def _padded(learner: np.ndarray, correct: np.ndarray) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Attempts sorted by learner then time -> learner ids and padded correct/mask matrices."""
    first = np.r_[True, learner[1:] != learner[:-1]] if len(learner) else np.zeros(0, dtype=bool)
    return (learner[first].tolist(), *to_padded(np.cumsum(first) - 1, correct))


def fit_sample(obs: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most FIT_SEQUENCES sequences (a fixed random sample) for EM: its cost grows with the sequences,
    while the four parameters are as well determined from tens of thousands of them as from millions."""
    if len(obs) <= FIT_SEQUENCES:
        return obs, mask
    pick = np.sort(np.random.default_rng(0).choice(len(obs), FIT_SEQUENCES, replace=False))
    return obs[pick], mask[pick]


def refit_skills(skills: Sequence[str] | None = None, besides: Sequence[str] | None = None) -> int:
    """EM-fit these skills' parameters (skill_sequences says which), then rebuild their learners' mastery from
    history with them; each skill committed with its mastery. Returns how many skills were refitted."""
    fitted = 0
    now = datetime.now(UTC)
    for skill, (learners, obs, mask) in skill_sequences(skills, besides).items():
        params = fit_bkt(*fit_sample(obs, mask))
        fields = {"p_init": params.p_init, "p_learn": params.p_learn, "p_guess": params.p_guess}
        fields |= {"p_slip": params.p_slip, "log_likelihood": params.log_likelihood, "sequences": len(learners)}
        upsert_rows(SkillModel, ["skill"], [{"skill": skill, **fields, "fitted_at": now}], [*fields, "fitted_at"])
        columns = {
            "learner_id": learners,
            "p_mastery": replay(obs, mask, params).tolist(),
            "attempts": mask.sum(axis=1).tolist(),
            "correct": (obs & mask).sum(axis=1).tolist(),
        }
        updated = ["p_mastery", "attempts", "correct", "updated_at"]
        write_columns(SkillMastery, columns, {"skill": skill, "updated_at": now}, ["learner_id", "skill"], updated)
        db.session.commit()
        fitted += 1
    return fitted


def fit_and_store_skill_models() -> int:
    """Refit every skill in this process (`flask models train`, the fit_skill_models task)."""
    return refit_skills()


def skill_shards(count: int = SKILL_SHARDS) -> list[SkillShard]:
    """The refit cut into at most `count` shards of the skills fitted before, balanced by their learners
    (largest first: each goes to the shard with the fewest so far); the last shard also takes every skill
    never fitted. Before any fit: one shard of every skill."""
    known = db.session.execute(sa.select(SkillModel.skill, SkillModel.sequences)).tuples().all()
    count = max(1, min(count, len(known)))
    loads, groups = [0] * count, [list[str]() for _ in range(count)]
    for skill, sequences in sorted(known, key=lambda k: (-(k[1] or 0), k[0])):
        lightest = loads.index(min(loads))
        loads[lightest] += sequences or 0
        groups[lightest].append(skill)
    shards: list[SkillShard] = [(sorted(groups[i]), None) for i in sorted(range(count), key=lambda i: -loads[i])]
    shards[-1] = (shards[-1][0], sorted(skill for skill, _ in known))
    return shards
