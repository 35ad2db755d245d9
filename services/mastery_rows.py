"""A learner's skill mastery as read for reports and dashboards: the stored rows, and the attempts at skills
that have none (history loaded around the ingest path), which a report replays."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from models import Event, SkillMastery, db
from services.mastery import MASTERY_THRESHOLD

# built once per process: every report and learner dashboard reads them
STORED_MASTERY = sa.select(SkillMastery.skill, SkillMastery.p_mastery, SkillMastery.attempts).where(
    SkillMastery.learner_id == sa.bindparam("learner")
)
# skills with attempts but no stored row, their attempts in order (normally none, so no attempt row travels)
UNSTORED_ATTEMPTS = (
    sa.select(Event.skill, 100.0 * Event.score / Event.max_score >= MASTERY_THRESHOLD)
    .where(
        Event.learner_id == sa.bindparam("learner"),
        Event.kind == "assessment",
        Event.skill.is_not(None),
        ~sa.exists().where(SkillMastery.learner_id == sa.bindparam("learner"), SkillMastery.skill == Event.skill),
    )
    .order_by(Event.skill, Event.occurred_at, Event.id)
)


def stored_mastery(learner_id: int) -> list[Any]:
    """The learner's stored (skill, p_mastery, attempts) rows."""
    return list(db.session.execute(STORED_MASTERY, {"learner": learner_id}).all())


def unstored_attempts(learner_id: int) -> list[Any]:
    """The learner's (skill, correct) attempts at skills without a stored row, by skill and in time order."""
    return list(db.session.execute(UNSTORED_ATTEMPTS, {"learner": learner_id}).all())
