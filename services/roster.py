"""The roster: learners with the figures the worker keeps in learner_standings, filtered, sorted and
keyset-paged in SQL (no per-request recomputation), for the roster endpoints and the exports."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from analytics.cohort import TRAFFIC_LIGHTS
from analytics.scores import DIRECTION_NAMES
from models import Alert, Enrollment, LearnerStanding, User, db
from models.metrics import STANDING_SORT_COLUMNS
from models.unprepared import planned_limit

LIGHTS = TRAFFIC_LIGHTS  # risk_level 0, 1, 2; no level is grey
RISK_FILTERS = (*LIGHTS, "grey")
TRENDS = tuple(DIRECTION_NAMES.values())
SORT_COLUMNS: dict[str, Any] = {
    "id": User.id,  # creation order: /learners' historical order (id descending)
    "name": User.name,
    "external_id": User.external_id,
    "average": LearnerStanding.average,
    "recent_average": LearnerStanding.recent_average,
    "trend_direction": LearnerStanding.trend_direction,
    "engagement": LearnerStanding.engagement,
    "attendance_percent": LearnerStanding.attendance_percent,
    "risk_light": LearnerStanding.risk_level,
    "risk_probability": LearnerStanding.risk_probability,
    "open_alerts": LearnerStanding.open_alerts,
}
STREAM_BATCH = 500
# Plain columns, not ORM entities: building 1,000 objects cost more than the query itself.
USER_COLUMNS = (User.id, User.external_id, User.name, User.role, User.email, User.active, User.created_at)
STANDING_COLUMNS = tuple(
    getattr(LearnerStanding, name) for name in (*STANDING_SORT_COLUMNS, "open_alert_rules", "metrics_at")
)


@dataclass(frozen=True)
class RosterQuery:
    """What a roster request asks for; `after` is the decoded cursor (sort value, learner id)."""

    sort: str = "name"
    descending: bool = False
    risk: str | None = None
    rule: str | None = None
    q: str | None = None
    limit: int = 100
    after: tuple[Any, int] | None = None

    def filters(self) -> dict[str, Any]:
        """The parameters that narrow or order the roster (for export headers)."""
        shown = {"sort": self.sort, "order": "desc" if self.descending else "asc"}
        return shown | {k: v for k, v in (("risk", self.risk), ("rule", self.rule), ("q", self.q)) if v}


def encode_cursor(query: RosterQuery, value: Any, learner_id: int) -> str:
    """An opaque cursor that also pins the sort it was made for."""
    raw = json.dumps([query.sort, query.descending, value, learner_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, descending: bool) -> tuple[Any, int]:
    """(sort value, learner id) from a cursor; ValueError if it is malformed or from another sort."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, made_desc, value, learner_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ValueError("is not a cursor this endpoint returned") from exc
    if (made_for, made_desc) != (sort, descending) or not isinstance(learner_id, int):
        raise ValueError("belongs to another sort order; start again without it")
    if not (value is None or isinstance(value, (int, float, str))):
        raise ValueError("is not a cursor this endpoint returned")
    return value, learner_id


def section_roster(section_id: int) -> sa.Select:
    """A section's learners with their enrollment status and standings (one row each)."""
    return (
        sa.select(*USER_COLUMNS, Enrollment.status, *STANDING_COLUMNS)
        .join(Enrollment, Enrollment.learner_id == User.id)
        .outerjoin(LearnerStanding, LearnerStanding.learner_id == User.id)
        .where(Enrollment.section_id == section_id)
    )


def learner_roster(visible: sa.Select) -> sa.Select:
    """`visible` (a select of User) with each learner's standings, as plain rows."""
    joined = visible.outerjoin(LearnerStanding, LearnerStanding.learner_id == User.id)
    return joined.with_only_columns(*USER_COLUMNS, *STANDING_COLUMNS)


def _narrowed(base: sa.Select, query: RosterQuery) -> sa.Select:
    if query.risk == "grey":
        base = base.where(LearnerStanding.risk_level.is_(None))
    elif query.risk:
        base = base.where(LearnerStanding.risk_level == LIGHTS.index(query.risk))
    if query.rule:
        open_alert = sa.select(Alert.id).where(
            Alert.learner_id == User.id, Alert.rule == query.rule, Alert.status != "resolved"
        )
        base = base.where(open_alert.exists())
    if query.q:
        needle = query.q.lower()
        base = base.where(
            sa.or_(
                sa.func.lower(User.name).contains(needle, autoescape=True),
                sa.func.lower(User.external_id).contains(needle, autoescape=True),
            )
        )
    return base


def _after(column: Any, value: Any, learner_id: int, descending: bool) -> Any:
    """Rows after (value, learner_id) in `column` order, NULLs last in both directions."""
    later_id = User.id < learner_id if descending else User.id > learner_id
    if value is None:
        return sa.and_(column.is_(None), later_id)
    beyond = column < value if descending else column > value
    return sa.or_(beyond, sa.and_(column == value, later_id), column.is_(None))


def _ordered(base: sa.Select, query: RosterQuery) -> sa.Select:
    column = SORT_COLUMNS[query.sort]
    if query.after is not None:
        base = base.where(_after(column, *query.after, query.descending))
    direction = sa.desc if query.descending else sa.asc
    return base.order_by(direction(column).nulls_last(), direction(User.id)).limit(planned_limit(query.limit))


def _sort_value(row: Any, sort: str) -> Any:
    return getattr(row, SORT_COLUMNS[sort].key)


def standing_json(row: Any) -> dict[str, Any]:
    """The roster columns of one roster row; a learner never evaluated is grey with no figures."""
    level, trend = row.risk_level, row.trend_direction
    return {
        "average": row.average,
        "recent_average": row.recent_average,
        "trend_direction": DIRECTION_NAMES.get(trend) if trend is not None else None,
        "engagement": row.engagement,
        "attendance_percent": row.attendance_percent,
        "risk_light": LIGHTS[level] if level is not None else "grey",
        "risk_probability": row.risk_probability,
        "open_alerts": row.open_alerts or 0,
        "open_alert_rules": row.open_alert_rules.split(",") if row.open_alert_rules else [],
        "standing_updated_at": row.metrics_at.isoformat() if row.metrics_at else None,
    }


def roster_page(base: sa.Select, query: RosterQuery) -> tuple[list[Any], str | None]:
    """One page of rows (as selected by `base`) and the cursor of the next page, if there is one."""
    rows = list(db.session.execute(_ordered(_narrowed(base, query), query)).all())
    if len(rows) < query.limit:
        return rows, None
    return rows, encode_cursor(query, _sort_value(rows[-1], query.sort), rows[-1].id)


def iter_roster(base: sa.Select, query: RosterQuery) -> Iterator[Any]:
    """Every row of the roster in order, fetched in keyset batches (for streamed exports)."""
    page = replace(query, limit=STREAM_BATCH)
    while True:
        rows, cursor = roster_page(base, page)
        yield from rows
        if cursor is None:
            return
        page = replace(page, after=decode_cursor(cursor, page.sort, page.descending))


def section_light_counts(section_id: int) -> dict[str, int]:
    """Learners of the section per roster light, grey included (one grouped query)."""
    rows = db.session.execute(
        sa.select(LearnerStanding.risk_level, sa.func.count())
        .select_from(Enrollment)
        .outerjoin(LearnerStanding, LearnerStanding.learner_id == Enrollment.learner_id)
        .where(Enrollment.section_id == section_id)
        .group_by(LearnerStanding.risk_level)
    ).all()
    counts = dict.fromkeys(RISK_FILTERS, 0)
    for level, count in rows:
        counts[LIGHTS[level] if level is not None else "grey"] += count
    return counts
