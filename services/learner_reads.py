"""Everything a learner's dashboard open reads about them, in one round trip on PostgreSQL.

The learner's initial data reads eight things: their users row, events, attendance, the modules of their
courses, stored mastery, the newest risk model version, attempts at skills without stored mastery, and running
counters. None needs another's result (the modules the learner worked in are found from their events by the
database itself), so on PostgreSQL all eight go out in one psycopg pipeline on the session's connection and come
back as plain rows: one round trip instead of eight (under gevent, one wait of the socket's green thread), and
no ORM entity or SQLAlchemy result machinery per statement. On SQLite (embedded) the same reads run one by one
through the session, as the progress views' own loaders run them.

The newest risk model version's key is read on every open, in the same trip, so a model the worker retrained
is used from the next open on; its JSON is parsed once per process and version (services.model_training).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from analytics.risk import RiskModel
from models import LearnerCounters, User, db
from models.queries import Query, driver_sql, pipelined
from services.analytics_data import (
    ONE_LEARNERS_ATTENDANCE,
    PACKED_QUERY,
    one_learners_attendance,
    packed_parameters,
    unpacked_event_arrays,
)
from services.learner_loading import LoadedLearner, load_learner, loaded_from
from services.model_training import NEWEST_VERSION, current_risk_model, risk_model_of
from services.progress_context import COURSE_MODULES_OF_EVENTS, course_modules
from services.reports import STORED_MASTERY, UNSTORED_ATTEMPTS, stored_mastery

# built once per process; rows, not entities (counters_json reads the same attributes as from the entity)
LEARNER_ROW = sa.select(User.id, User.external_id, User.name).where(User.id == sa.bindparam("learner"))
COUNTERS_ROW = sa.select(*LearnerCounters.__table__.columns).where(
    LearnerCounters.learner_id == sa.bindparam("learner")
)


@dataclass(frozen=True)
class LearnerReads:
    """One learner's rows for their dashboard, and their events and metrics as of `loaded.now`."""

    learner: Any  # LEARNER_ROW: id, external_id, name
    loaded: LoadedLearner
    modules: list[Any]  # services.progress_context.COURSE_MODULES rows: (course id, module id)
    stored: list[Any]  # STORED_MASTERY rows: (skill, p_mastery, attempts)
    model: RiskModel  # the current risk model
    unstored: list[Any]  # UNSTORED_ATTEMPTS rows: (skill, correct)
    counters: Any | None  # COUNTERS_ROW, None before the learner's first evaluation


def _query(statement: sa.Executable, learner_id: int) -> Query:
    sql, fixed = driver_sql(statement)
    return sql, {**fixed, "learner": learner_id}, False


def _pipelined(learner_id: int, now: float) -> LearnerReads:
    """PostgreSQL: the eight reads in one pipeline."""
    learner, events, attendance, modules, stored, newest, unstored, counters = pipelined(
        [
            _query(LEARNER_ROW, learner_id),
            (PACKED_QUERY, packed_parameters([learner_id]), True),
            _query(ONE_LEARNERS_ATTENDANCE, learner_id),
            _query(COURSE_MODULES_OF_EVENTS, learner_id),
            _query(STORED_MASTERY, learner_id),
            _query(NEWEST_VERSION, learner_id),
            _query(UNSTORED_ATTEMPTS, learner_id),
            _query(COUNTERS_ROW, learner_id),
        ]
    )
    if not learner:
        raise sa.exc.NoResultFound(f"no user {learner_id}")
    loaded = loaded_from(
        now, *unpacked_event_arrays([learner_id], events[0][0]), one_learners_attendance(row[0] for row in attendance)
    )
    model = risk_model_of(newest[0] if newest else None)
    return LearnerReads(learner[0], loaded, modules, stored, model, unstored, counters[0] if counters else None)


def _one_by_one(learner_id: int, now: float) -> LearnerReads:
    """Elsewhere (SQLite): the same reads through the session, one statement at a time."""
    learner = db.session.execute(LEARNER_ROW, {"learner": learner_id}).one()
    loaded = load_learner(learner, now)
    return LearnerReads(
        learner,
        loaded,
        course_modules(learner_id, loaded.module),
        stored_mastery(learner_id),
        current_risk_model(),
        list(db.session.execute(UNSTORED_ATTEMPTS, {"learner": learner_id}).all()),
        db.session.execute(COUNTERS_ROW, {"learner": learner_id}).first(),
    )


def read_learner(learner_id: int) -> LearnerReads:
    """The learner's rows for their dashboard, read as of now; raises NoResultFound for no such user."""
    now = datetime.now(UTC).timestamp()
    if db.session.get_bind().dialect.name == "postgresql":
        return _pipelined(learner_id, now)
    return _one_by_one(learner_id, now)
