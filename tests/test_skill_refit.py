"""The daily BKT refit reads skill histories and writes mastery in bulk: the same sequences and mastery
as the attempts give when replayed one by one, a bounded fixed sample for the EM fit, and the same
parameters and mastery whether every skill is refitted at once or in the daily task's shards of skills."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa

from analytics.bkt import BKTParams, bkt_update
from models import SkillMastery, SkillModel, User, db
from models.upsert import upsert_rows
from services.skill_refit import (
    FIT_SEQUENCES,
    fit_and_store_skill_models,
    fit_sample,
    refit_skills,
    skill_sequences,
    skill_shards,
)
from services.sweeps import run_daily_skill_shard

SCORES = {  # learner -> (hours ago, skill, score out of 10), posted out of time order
    "ana": [(5, "fractions", 9), (9, "fractions", 3), (1, "fractions", 8), (4, "algebra", 6)],
    "ben": [(2, "fractions", 2), (7, "fractions", 5.9), (3, "algebra", 10)],
    "cy": [(6, "algebra", 1)],
}


def _post(client, service) -> None:
    now = datetime.now(UTC)
    events = [
        {
            "learner": learner,
            "kind": "assessment",
            "occurred_at": (now - timedelta(hours=hours)).isoformat(),
            "skill": skill,
            "score": score,
            "max_score": 10,
        }
        for learner, rows in SCORES.items()
        for hours, skill, score in rows
    ]
    assert client.post("/api/v1/events", json={"events": events}, headers=service).status_code == 201


def test_sequences_and_mastery_follow_each_learners_attempts_in_time_order(client, service):
    _post(client, service)
    ids = dict(db.session.execute(sa.select(User.external_id, User.id).where(User.role == "learner")).tuples().all())
    sequences = skill_sequences()
    learners, obs, mask = sequences["fractions"]
    assert [ids["ana"], ids["ben"]] == learners
    assert obs.tolist() == [[False, True, True], [False, False, False]]  # 3/10, 9/10, 8/10; 5.9/10 < 60%, 2/10
    assert mask.sum(axis=1).tolist() == [3, 2]
    assert fit_and_store_skill_models() == 2
    for skill in ("fractions", "algebra"):
        fitted = db.session.scalar(sa.select(SkillModel).where(SkillModel.skill == skill))
        params = BKTParams(fitted.p_init, fitted.p_learn, fitted.p_guess, fitted.p_slip)
        for name, rows in SCORES.items():
            attempts = [10 * score >= 60 for _, s, score in sorted(rows, reverse=True) if s == skill]
            if not attempts:
                continue
            expected = np.array([params.p_init])
            for correct in attempts:
                expected = bkt_update(expected, np.array([correct]), params.p_learn, params.p_guess, params.p_slip)
            stored = db.session.scalar(
                sa.select(SkillMastery).where(SkillMastery.learner_id == ids[name], SkillMastery.skill == skill)
            )
            assert stored.attempts == len(attempts) and stored.correct == sum(attempts)
            assert stored.p_mastery == float(expected[0])


def test_the_em_fit_reads_a_fixed_bounded_sample():
    obs = np.arange(2 * (FIT_SEQUENCES + 7) * 3).reshape(-1, 3) % 2 == 0
    mask = np.ones_like(obs)
    first, _ = fit_sample(obs, mask)
    again, _ = fit_sample(obs, mask)
    assert len(first) == FIT_SEQUENCES and np.array_equal(first, again)
    small = obs[:10]
    assert fit_sample(small, mask[:10])[0] is small


def _post_skills(client, service, skills: list[str], seed: int) -> None:
    """Skill k gets attempts from 3 * (k + 1) learners (skills of different sizes), scores at random."""
    rng, now = np.random.default_rng(seed), datetime.now(UTC)
    events = [
        {
            "learner": f"r{learner}",
            "kind": "assessment",
            "occurred_at": (now - timedelta(minutes=int(rng.integers(1, 10_000)))).isoformat(),
            "skill": skill,
            "score": int(rng.integers(0, 11)),
            "max_score": 10,
        }
        for k, skill in enumerate(skills)
        for learner in range(3 * (k + 1))
        for _ in range(int(rng.integers(1, 6)))
    ]
    assert client.post("/api/v1/events", json={"events": events}, headers=service).status_code == 201


def _refitted() -> tuple[list[tuple], list[tuple]]:
    """Every skill's fitted parameters and every mastery row, without their times."""
    m, s = SkillModel, SkillMastery
    models = sa.select(m.skill, m.p_init, m.p_learn, m.p_guess, m.p_slip, m.log_likelihood, m.sequences)
    mastery = sa.select(s.learner_id, s.skill, s.p_mastery, s.attempts, s.correct)
    return (
        sorted(tuple(r) for r in db.session.execute(models)),
        sorted(tuple(r) for r in db.session.execute(mastery)),
    )


def test_shards_of_skills_store_what_one_refit_stores(client, service):
    _post_skills(client, service, [f"k{i}" for i in range(5)], seed=1)
    assert skill_shards(3) == [([], [])]  # nothing fitted yet: one shard of every skill
    assert fit_and_store_skill_models() == 5
    whole = _refitted()
    _post_skills(client, service, ["new"], seed=2)  # a skill never fitted: the last shard takes it
    shards = skill_shards(3)
    assert [names for names, _ in shards] == [["k4"], ["k0", "k3"], ["k1", "k2"]]  # 15 | 12 + 3 | 9 + 6 learners
    assert [besides for _, besides in shards] == [None, None, ["k0", "k1", "k2", "k3", "k4"]]
    done = [run_daily_skill_shard(i, names, besides, 7)["skills"] for i, (names, besides) in enumerate(shards)]
    assert done == [1, 2, 3] and run_daily_skill_shard(0, *shards[0], 7) == {"skipped": "shard already done"}
    models, mastery = _refitted()
    assert [m for m in models if m[0] != "new"] == whole[0] and [m for m in mastery if m[1] != "new"] == whole[1]
    assert refit_skills(["k0"]) == 1 and refit_skills([]) == 0 and refit_skills([], ["k0", "k1", "k2", "k3"]) == 2
    assert fit_and_store_skill_models() == 6 and _refitted() == (models, mastery)  # the new skill too
    assert len(skill_shards(10)) == 6 and skill_shards(1) == [([*(f"k{i}" for i in range(5)), "new"], models_of())]


def models_of() -> list[str]:
    return sorted(db.session.scalars(sa.select(SkillModel.skill)))


def test_skill_shards_balance_the_fitted_skills_by_learners(app):
    rows = [{"skill": f"s{n}", "p_init": 0.2, "p_learn": 0.1, "p_guess": 0.2, "p_slip": 0.1, "sequences": n}
            for n in (10, 9, 8, 3, 2, 1)]  # fmt: skip
    upsert_rows(SkillModel, ["skill"], rows, ["sequences"])
    shards = skill_shards(2)  # 10 -> A, 9 -> B, 8 -> B (17), 3, 2, 1 -> A (16)
    assert shards == [(["s8", "s9"], None), (["s1", "s10", "s2", "s3"], sorted(r["skill"] for r in rows))]


def test_mastery_pages_keep_room_for_heap_only_updates(app):
    if db.engine.dialect.name != "postgresql":
        return  # SQLite has no fillfactor
    options = db.session.scalar(sa.text("SELECT reloptions FROM pg_class WHERE relname = 'skill_mastery'"))
    assert "fillfactor=45" in options
