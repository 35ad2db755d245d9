"""Skill histories read in bulk on PostgreSQL, for the daily BKT refit at platform scale.

Through the ORM the refit read every assessment as a Python row: ~50 s for 170k assessments. Here
PostgreSQL packs each skill's attempts into one value (mastery is written column-wise:
models.upsert.write_columns).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.queries import driver_read_cursor

ATTEMPT = np.dtype([("learner", ">i8"), ("correct", ">i2")])
PACKED_ATTEMPTS = """
SELECT skill, string_agg(int8send(learner_id::int8) || int2send((100.0 * score / max_score >= %(threshold)s)::int::int2),
                         ''::bytea ORDER BY learner_id, occurred_at, id)
FROM events
WHERE kind = 'assessment' AND skill IS NOT NULL{which}
GROUP BY skill
"""
SKILLS_IN = " AND (skill = ANY(%(skills)s::text[]){besides})"
BESIDES = " OR skill <> ALL(%(besides)s::text[])"


def packed_attempts(
    threshold: float, skills: Sequence[str] | None = None, besides: Sequence[str] | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per skill: learner id and correct (bool) of every attempt, by learner then time (PostgreSQL only). The
    skills read: every one (neither given), or those in `skills` and, with `besides`, those not in `besides`."""
    which = ""
    if skills is not None or besides is not None:
        which = SKILLS_IN.format(besides="" if besides is None else BESIDES)
    params = {"threshold": threshold, "skills": list(skills or []), "besides": list(besides or [])}
    cursor = driver_read_cursor()
    rows = cursor.execute(PACKED_ATTEMPTS.format(which=which), params, binary=True).fetchall()
    out = {}
    for name, data in rows:
        attempts = np.frombuffer(data or b"", ATTEMPT)
        out[name] = (attempts["learner"].astype(np.int64), attempts["correct"].astype(bool))
    return out
