"""The open alerts a dashboard shows on opening: read as plain rows, each alert's JSON kept per process by its row.

Every open of an admin's or educator's dashboard reads the same 50 newest alerts; decoding their JSON columns
and shaping them cost more than the read. So the JSON of an alert is kept keyed by the whole row as read (every
column, the JSON columns as their stored text, and the learner's external id): a changed alert is a different
key, computed afresh, and nothing else is shared between callers (each reads their own rows, narrowed to the
learners they may see, on every open).
"""

from __future__ import annotations

import json
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from api.access import only_visible
from api.auth.guard import Principal
from models import Alert, User, db
from models.queries import core_execute, driver_compiled, driver_read_cursor
from services.alerting import UNRESOLVED, alert_json
from services.json_text import EncodedDict, SplicedList
from services.process_cache import process_cache

OPEN_ALERTS_SHOWN = 50
KEPT_ALERTS = 4096  # alert JSONs kept per process (the least recently shown go first: stale rows among them)
_JSON_COLUMNS = ("factors", "recommendations")

_COLUMNS = (
    *(column for column in Alert.__table__.columns if column.name not in _JSON_COLUMNS),
    *(sa.cast(Alert.__table__.c[name], sa.Text).label(name) for name in _JSON_COLUMNS),  # as stored: the key
    User.external_id.label("learner_external_id"),
)


@lru_cache(maxsize=1024)
def _statement(user: Principal) -> sa.Select:
    """The newest unresolved alerts `user` may see, built once per caller (its compiled form is then reused)."""
    query = sa.select(*_COLUMNS).join(User, User.id == Alert.learner_id).where(UNRESOLVED)
    shown = sa.literal_column(str(OPEN_ALERTS_SHOWN), sa.Integer)  # as text, for the generic plan (services.alerting)
    return only_visible(query, Alert.learner_id, user).order_by(Alert.id.desc()).limit(shown)


_NAMES = tuple(column.name for column in _COLUMNS)


@lru_cache(maxsize=1024)
def _driver_statement(user: Principal) -> tuple[str, dict[str, Any]]:
    """`_statement(user)` compiled once per user for the PostgreSQL driver: its SQL and parameters."""
    return driver_compiled(_statement(user))


def _rows(user: Principal) -> list[tuple[Any, ...]]:
    """The rows of `_statement(user)` as tuples in `_NAMES` order. On PostgreSQL on the driver's cursor: no
    column of it has a result processor there (Moment passes the driver's aware datetimes through), so the
    values are those SQLAlchemy returns, without its per-statement and per-row machinery."""
    if db.engine.dialect.name == "postgresql":
        sql, params = _driver_statement(user)
        return driver_read_cursor().execute(sql, params).fetchall()
    return [tuple(row) for row in core_execute(_statement(user))]


def _shaped(row: tuple[Any, ...]) -> tuple[EncodedDict, list[str]]:
    """The alert's JSON, as alert_json gives it for the entity (with its text), and its recommendations."""
    values = dict(zip(_NAMES, row, strict=True))
    for name in _JSON_COLUMNS:  # the same json.loads the driver applies to a JSON column
        values[name] = None if values[name] is None else json.loads(values[name])
    shaped = alert_json(SimpleNamespace(**values), values["learner_external_id"])  # type: ignore[arg-type]
    return EncodedDict.of(shaped), values["recommendations"] or []


def open_alerts(user: Principal) -> tuple[SplicedList, list[str]]:
    """The newest unresolved alerts the user may see and their recommendations without repeats. The JSON
    returned is shared with later opens that read the same rows: read-only (it is serialized and sent, its text
    kept with it: services.json_text.spliced_dumps)."""
    kept = process_cache("open_alert_json")
    shown = []
    for key in _rows(user):
        found = kept.get(key)
        if found is None:
            found = _shaped(key)
            kept.put(key, found, KEPT_ALERTS)
        shown.append(found)
    recommendations = list(dict.fromkeys(r for _, advice in shown for r in advice))
    return SplicedList(alert for alert, _ in shown), recommendations
