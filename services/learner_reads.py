"""Everything a learner's dashboard open reads about them, in one statement on PostgreSQL.

The learner's initial data reads eight things: their users row, events, attendance, the modules of their
courses, stored mastery, the newest risk model version, attempts at skills without stored mastery, and running
counters. None needs another's result (the modules the learner worked in are found from their events by the
database itself), so on PostgreSQL one SELECT returns them all in one row: each read a scalar subquery, a set of
rows as an array of records, the events packed into one bytea (services.analytics_data). That is one round trip
and one wait of the socket's green thread instead of eight of each, and no ORM entity or SQLAlchemy result
machinery (a pipeline of the eight statements was tried: psycopg waits once per statement sent, so under gevent
it still cost ~17 hub switches per open). On SQLite (embedded) the same statements run one by one through the
session, as the progress views' own loaders run them; tests/test_learner_reads.py checks both give the same.

The newest risk model version's key is read on every open, in the same statement, so a model the worker
retrained is used from the next open on; its JSON is parsed once per process and version
(services.model_training).
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from analytics.risk import RiskModel
from models import Event, LearnerCounters, User, db
from models.queries import driver_read_cursor, driver_sql
from services.analytics_data import (
    ENGAGEMENT_EVENT,
    ONE_LEARNERS_ATTENDANCE,
    PACKED_EVENTS,
    one_learners_attendance,
    unpacked_event_arrays,
)
from services.learner_loading import LoadedLearner, load_learner, loaded_from
from services.mastery_rows import STORED_MASTERY, UNSTORED_ATTEMPTS, stored_mastery, unstored_attempts
from services.model_training import NEWEST_VERSION, current_risk_model, risk_model_of
from services.progress_context import COURSE_MODULES_OF_EVENTS, course_modules

# built once per process; rows, not entities (counters_json reads the same attributes as from the entity)
LEARNER_ROW = sa.select(User.id, User.external_id, User.name).where(User.id == sa.bindparam("learner"))
COUNTERS_ROW = sa.select(*LearnerCounters.__table__.columns).where(
    LearnerCounters.learner_id == sa.bindparam("learner")
)


def _row(statement: sa.Select[Any]) -> sa.ScalarSelect[Any]:
    """The statement's one row (or NULL) as one record."""
    return statement.with_only_columns(sa.func.row(*statement.selected_columns)).scalar_subquery()


def _rows(statement: sa.Select[Any]) -> sa.ColumnElement[Any]:
    """The statement's rows as an array of records, in the statement's order (ARRAY(SELECT ... ORDER BY ...))."""
    return sa.func.array(_row(statement))


# PostgreSQL: the eight reads as one row of eight values
LEARNER_READS = sa.select(
    _row(LEARNER_ROW).label("learner"),
    sa.select(sa.literal_column(PACKED_EVENTS))
    .where(Event.learner_id == sa.bindparam("learner"), ENGAGEMENT_EVENT)
    .scalar_subquery()
    .label("events"),
    sa.func.array(ONE_LEARNERS_ATTENDANCE.scalar_subquery()).label("attendance"),
    _rows(COURSE_MODULES_OF_EVENTS).label("modules"),
    _rows(STORED_MASTERY).label("stored"),
    _row(NEWEST_VERSION).label("newest"),
    _rows(UNSTORED_ATTEMPTS).label("unstored"),
    _row(COUNTERS_ROW).label("counters"),
)
# a record read back as the statement's own row would be: its values by the statement's column names
LearnerRow = namedtuple("LearnerRow", [column.key for column in LEARNER_ROW.selected_columns])  # type: ignore[misc]
VersionRow = namedtuple("VersionRow", [column.key for column in NEWEST_VERSION.selected_columns])  # type: ignore[misc]
CountersRow = namedtuple("CountersRow", [column.key for column in COUNTERS_ROW.selected_columns])  # type: ignore[misc]


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


def _in_one_statement(learner_id: int, now: float) -> LearnerReads:
    """PostgreSQL: LEARNER_READS."""
    sql, fixed = driver_sql(LEARNER_READS)
    row = driver_read_cursor().execute(sql, {**fixed, "learner": learner_id}, binary=True).fetchone()
    learner, events, attendance, modules, stored, newest, unstored, counters = row
    if learner is None:
        raise sa.exc.NoResultFound(f"no user {learner_id}")
    loaded = loaded_from(now, *unpacked_event_arrays([learner_id], events), one_learners_attendance(attendance))
    return LearnerReads(
        LearnerRow(*learner),
        loaded,
        modules,
        stored,
        risk_model_of(None if newest is None else VersionRow(*newest)),
        unstored,
        None if counters is None else CountersRow(*counters),
    )


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
        unstored_attempts(learner_id),
        db.session.execute(COUNTERS_ROW, {"learner": learner_id}).first(),
    )


def read_learner(learner_id: int) -> LearnerReads:
    """The learner's rows for their dashboard, read as of now; raises NoResultFound for no such user."""
    now = datetime.now(UTC).timestamp()
    if db.session.get_bind().dialect.name == "postgresql":
        return _in_one_statement(learner_id, now)
    return _one_by_one(learner_id, now)
