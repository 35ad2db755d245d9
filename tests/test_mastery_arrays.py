"""services.mastery sends its attempts as array literals (models.upsert.int_array and text_array) instead of lists for
psycopg's dumper: the stored mastery is what list parameters store, for odd skill names and several rounds, and
what BKT gives step by step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from analytics.bkt import DEFAULT_PARAMS, bkt_update
from models import SkillMastery, db
from models.queries import driver_cursor
from models.upsert import int_array
from services.mastery import MASTERY_THRESHOLD, POSTGRES_UPSERT, _rounds, apply_assessments
from tests.conftest import create_user
from tests.test_user_lookup import ODD

START = datetime(2026, 11, 30, 9, tzinfo=UTC)


def attempts_of(learners: list[str]) -> list[dict]:
    """Assessments at odd skill names, several per learner-skill pair (so several rounds), out of time order."""
    out = []
    for n in range(300):
        out.append(
            {
                "kind": "assessment",
                "learner": learners[n % len(learners)],
                "skill": ODD[n % len(ODD)] or "empty",
                "score": float(n % 11),
                "max_score": 10.0,
                "occurred_at": START + timedelta(minutes=(n * 37) % 120),
            }
        )
    return out


def stored(learner_ids: dict[str, int]) -> dict[tuple[str, str], tuple[float, int, int]]:
    """Each pair's mastery row, keyed by the learner's external id."""
    by_id = {pk: name for name, pk in learner_ids.items()}
    rows = db.session.execute(
        sa.select(SkillMastery.learner_id, SkillMastery.skill, SkillMastery.p_mastery, SkillMastery.attempts)
        .add_columns(SkillMastery.correct)
        .where(SkillMastery.learner_id.in_(by_id))
    )
    return {(by_id[learner], skill): (p, attempts, correct) for learner, skill, p, attempts, correct in rows}


def with_lists(events: list[dict], learner_ids: dict[str, int]) -> None:
    """apply_assessments' PostgreSQL statement with its arrays as Python lists, as it was sent before."""
    cursor = driver_cursor()
    for attempts in _rounds(events, learner_ids):
        cursor.execute(
            POSTGRES_UPSERT,
            {
                "learners": [a[0] for a in attempts],
                "skills": [a[1] for a in attempts],
                "correct": [a[2] for a in attempts],
            },
        )


def test_int_array_writes_each_integer():
    assert int_array([1, -2, 2**40, True, False]) == "{1,-2,1099511627776,1,0}"


def test_mastery_is_what_list_parameters_and_bkt_give(app):
    names = {tag: [f"{tag}-{n}" for n in range(5)] for tag in ("literal", "lists")}
    ids = {tag: {name: create_user(name, "learner").id for name in group} for tag, group in names.items()}
    events = attempts_of(names["literal"])
    assert len(_rounds(events, ids["literal"])) > 2
    assert apply_assessments(events, ids["literal"]) == len(events)
    db.session.commit()
    got = stored(ids["literal"])
    assert len(got) == len({(e["learner"], e["skill"]) for e in events})
    postgresql = db.engine.dialect.name == "postgresql"
    if postgresql:
        with_lists(attempts_of(names["lists"]), ids["lists"])
        db.session.commit()
        renamed = {
            (learner.replace("lists", "literal"), skill): row for (learner, skill), row in stored(ids["lists"]).items()
        }
        assert renamed == got
    for (learner, skill), (p, attempts, correct) in got.items():  # BKT, one attempt at a time, in time order
        mine = sorted((e["occurred_at"], e["score"]) for e in events if (e["learner"], e["skill"]) == (learner, skill))
        mastery = np.array([DEFAULT_PARAMS["p_init"]])
        for _, score in mine:
            right = np.array([100.0 * score / 10.0 >= MASTERY_THRESHOLD])
            mastery = bkt_update(
                mastery, right, DEFAULT_PARAMS["p_learn"], DEFAULT_PARAMS["p_guess"], DEFAULT_PARAMS["p_slip"]
            )
        assert (attempts, correct) == (len(mine), sum(100.0 * s / 10.0 >= MASTERY_THRESHOLD for _, s in mine))
        assert p == pytest.approx(float(mastery[0]), rel=1e-9)
