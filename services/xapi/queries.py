"""Reading statements back: one by id (voided or not), or a filtered page in stored order with a cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from models import XapiStatement, db
from models.unprepared import UNPREPARED, planned_limit

MAX_PAGE = 500  # what limit=0 ("the server's maximum") means


@dataclass(frozen=True)
class StatementFilter:
    """The GET /statements filters, already parsed and validated."""

    agent_ifi: str | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 0
    ascending: bool = False
    after: int | None = None  # the cursor: the last row id the previous page returned


def _voided() -> sa.ColumnElement[bool]:
    """A statement is voided if it is not itself a voiding statement and a voiding statement names it."""
    voiding = aliased(XapiStatement)
    return sa.and_(XapiStatement.voids.is_(None), sa.exists().where(voiding.voids == XapiStatement.statement_id))


def find_statement(statement_id: str, voided: bool) -> str | None:
    """The stored JSON of one statement: a voided one only when `voided`, a live one only when not."""
    query = sa.select(XapiStatement.body, _voided().label("voided")).where(
        XapiStatement.statement_id == statement_id.lower()
    )
    row = db.session.execute(query).first()
    if row is None or bool(row.voided) != voided:
        return None
    return row.body


def _live() -> sa.ColumnElement[bool]:
    """Not voided (a voiding statement, or one no voiding statement names), written as one NOT EXISTS.

    `NOT _voided()` puts the EXISTS under an OR, which PostgreSQL cannot turn into an anti-join: it planned a
    hashed subplan that read every stored statement, on each page (4.5 of 6.9 ms at 20k statements).
    """
    voiding = aliased(XapiStatement)
    return ~sa.exists().where(voiding.voids == XapiStatement.statement_id, XapiStatement.voids.is_(None))


def page_statement(where: StatementFilter, size: int) -> sa.Select:
    """The SELECT of one page (and one row more, to know whether another page follows)."""
    conditions = [_live()]
    if where.agent_ifi:
        conditions.append(
            sa.or_(XapiStatement.actor_ifi == where.agent_ifi, XapiStatement.object_ifi == where.agent_ifi)
        )
    for column, value in (
        (XapiStatement.verb_id, where.verb),
        (XapiStatement.activity_id, where.activity),
        (XapiStatement.registration, where.registration),
    ):
        if value is not None:
            conditions.append(column == value)
    if where.since is not None:
        conditions.append(XapiStatement.stored > where.since)
    if where.until is not None:
        conditions.append(XapiStatement.stored <= where.until)
    if where.after is not None:
        conditions.append(XapiStatement.id > where.after if where.ascending else XapiStatement.id < where.after)
    order = XapiStatement.id.asc() if where.ascending else XapiStatement.id.desc()
    return (
        sa.select(XapiStatement.id, XapiStatement.body)
        .where(*conditions)
        .order_by(order)
        .limit(planned_limit(size + 1))
    )


def list_statements(where: StatementFilter) -> tuple[list[str], int | None]:
    """A page of stored statement bodies (voided ones left out) and the cursor of the next page, if any."""
    size = where.limit if 0 < where.limit <= MAX_PAGE else MAX_PAGE
    ranged = UNPREPARED if where.since is not None or where.until is not None else {}  # models/unprepared.py
    rows = db.session.execute(page_statement(where, size), execution_options=ranged).all()
    page = rows[:size]
    return [row.body for row in page], (page[-1].id if len(rows) > size else None)
