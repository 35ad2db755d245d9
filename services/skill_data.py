"""Skill histories read and mastery written in bulk on PostgreSQL, for the daily BKT refit at platform scale.

Through the ORM the refit read every assessment as a Python row and upserted mastery row by row:
~50 s for 170k assessments. Here PostgreSQL packs each skill's attempts into one value and mastery
is written with one statement per skill (arrays passed as text literals: no per-element binding).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from models import db
from models.queries import driver_cursor

ATTEMPT = np.dtype([("learner", ">i8"), ("correct", ">i2")])
PACKED_ATTEMPTS = """
SELECT skill, string_agg(int8send(learner_id::int8) || int2send((100.0 * score / max_score >= %(threshold)s)::int::int2),
                         ''::bytea ORDER BY learner_id, occurred_at, id)
FROM events
WHERE kind = 'assessment' AND skill IS NOT NULL AND (%(skill)s::text IS NULL OR skill = %(skill)s::text)
GROUP BY skill
"""
UPSERT_MASTERY = sa.text("""
INSERT INTO skill_mastery (learner_id, skill, p_mastery, attempts, correct, updated_at)
SELECT learner_id, :skill, p_mastery, attempts, correct, :now
FROM unnest(CAST(:learners AS int[]), CAST(:mastery AS float8[]), CAST(:attempts AS int[]), CAST(:correct AS int[]))
     AS t(learner_id, p_mastery, attempts, correct)
ON CONFLICT (learner_id, skill) DO UPDATE SET p_mastery = excluded.p_mastery, attempts = excluded.attempts,
    correct = excluded.correct, updated_at = excluded.updated_at
""")


def packed_attempts(threshold: float, skill: str | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per skill: learner id and correct (bool) of every attempt, by learner then time (PostgreSQL only)."""
    cursor = driver_cursor()
    rows = cursor.execute(PACKED_ATTEMPTS, {"threshold": threshold, "skill": skill}, binary=True).fetchall()
    out = {}
    for name, data in rows:
        attempts = np.frombuffer(data or b"", ATTEMPT)
        out[name] = (attempts["learner"].astype(np.int64), attempts["correct"].astype(bool))
    return out


def _literal(values: Any) -> str:
    """A PostgreSQL array literal (repr keeps every float exact)."""
    return "{" + ",".join(map(repr, values)) + "}"


def write_mastery(
    skill: str, learners: list[int], mastery: np.ndarray, attempts: np.ndarray, correct: np.ndarray, now: datetime
) -> None:
    """Upsert one skill's mastery rows in one statement (PostgreSQL only)."""
    db.session.execute(
        UPSERT_MASTERY,
        {
            "skill": skill,
            "now": now,
            "learners": _literal(learners),
            "mastery": _literal(np.asarray(mastery, dtype=float).tolist()),
            "attempts": _literal(np.asarray(attempts, dtype=int).tolist()),
            "correct": _literal(np.asarray(correct, dtype=int).tolist()),
        },
    )
