"""Query-string parsing shared by list endpoints: keyset pagination and time ranges."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import request

from api.errors import ApiError, field_error
from api.validation import parse_date, parse_datetime
from models.unprepared import UNPREPARED

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000


def _bad(name: str, reason: str) -> ApiError:
    return ApiError(400, f"query parameter {name} {reason}", details=[field_error(name, reason)])


def int_arg(name: str, default: int | None, minimum: int, maximum: int) -> int | None:
    """An integer query parameter within bounds."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise _bad(name, "must be a whole number") from exc
    if not minimum <= value <= maximum:
        raise _bad(name, f"must be between {minimum} and {maximum}")
    return value


def datetime_arg(name: str) -> datetime | None:
    """An ISO-8601 instant with offset."""
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return parse_datetime(raw.replace(" ", "+"))  # a '+' in a query string arrives as a space
    except ValueError as exc:
        raise _bad(name, str(exc)) from exc


def page_args() -> dict[str, Any]:
    """limit (1..1000, default 100) and before (an id: return rows older than it)."""
    return {"limit": int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT), "before": int_arg("before", None, 1, 2**62)}


def newest_first(query: sa.Select, id_column: sa.ColumnElement[int]) -> tuple[sa.Select, int]:
    """Apply keyset paging (`limit`, `before`) to a query, newest id first; returns it and the limit."""
    page = page_args()
    if page["before"]:
        query = query.where(id_column < page["before"])
    return query.order_by(id_column.desc()).limit(page["limit"]), page["limit"]


def next_before(last_ids: list[int], limit: int) -> int | None:
    """The `before` value of the next page, or None when this page was the last."""
    return last_ids[-1] if len(last_ids) == limit else None


def in_time_range(query: sa.Select, column: sa.ColumnElement[Any]) -> sa.Select:
    """Narrow a query to `since` (inclusive) and `until` (exclusive), ISO-8601 instants, when given."""
    since, until = datetime_arg("since"), datetime_arg("until")
    if since:
        query = query.where(column >= since)
    if until:
        query = query.where(column < until)
    # the range's rows decide the plan: planned for its values every time (models/unprepared.py)
    return query.execution_options(**UNPREPARED) if since or until else query


def choice_arg(name: str, choices: tuple[str, ...]) -> str | None:
    """An optional parameter restricted to known values."""
    raw = request.args.get(name)
    if raw and raw not in choices:
        raise _bad(name, f"must be one of {', '.join(choices)}")
    return raw or None


def date_arg(name: str) -> date | None:
    """An optional calendar date, YYYY-MM-DD."""
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return parse_date(raw)
    except ValueError as exc:
        raise _bad(name, str(exc)) from exc


def list_arg(name: str, allowed: tuple[str, ...]) -> list[str]:
    """A comma-separated list of known values (empty if absent)."""
    values = [v for v in request.args.get(name, "").split(",") if v]
    bad = [v for v in values if v not in allowed]
    if bad:
        raise _bad(name, f"has unknown values: {', '.join(bad)} not in {', '.join(allowed)}")
    return values


def reject_unknown_args(allowed: Iterable[str]) -> None:
    """400 naming the first query parameter the endpoint does not know (a typo must not be ignored)."""
    known = set(allowed)
    for name in request.args:
        if name not in known:
            raise _bad(name, f"is not a parameter of this endpoint (known: {', '.join(sorted(known))})")
