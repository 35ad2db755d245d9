"""The daily BKT refit reads skill histories and writes mastery in bulk: the same sequences and mastery
as the attempts give when replayed one by one, and a bounded fixed sample for the EM fit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa

from analytics.bkt import BKTParams, bkt_update
from models import SkillMastery, SkillModel, User, db
from services.model_training import FIT_SEQUENCES, fit_and_store_skill_models, fit_sample, skill_sequences

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
