"""Request validation: JSON bodies and flat field specs that name each bad field and the reason."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import request

from analytics.local_days import is_time_zone
from api.errors import ApiError, field_error
from api.json_input import JsonInputError, loads, value_problem
from services.timestamps import EARLIEST_SUPPORTED, LATEST_SUPPORTED, require_within

Errors = list[dict[str, str]]
MAX_SAFE_INT = 2**53  # beyond it integers are not exact in JavaScript clients; far below BIGINT overflow too
EARLIEST, LATEST = EARLIEST_SUPPORTED, LATEST_SUPPORTED


@dataclass(frozen=True)
class Field:
    """What one JSON field may hold."""

    kind: str  # "str", "number", "int", "bool", "date", "datetime", "time_zone" (IANA name), "list" (of `item`)
    required: bool = False
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 200  # characters of a string, items of a list
    item: Field | None = None  # what each item of a "list" holds


def json_body() -> Any:
    """The parsed JSON body; 415 for another content type, 400 for malformed JSON or a value no field
    could accept (too deep, NaN, a number beyond float range, NUL or a lone surrogate in a string)."""
    if not request.is_json:
        raise ApiError(415, "send the body as JSON with Content-Type: application/json")
    try:
        return loads(request.get_data(cache=True), root="body")
    except JsonInputError as exc:
        message = f"the body {exc.reason}" if exc.path == "body" else f"{exc.path} {exc.reason}"
        raise ApiError(400, message, details=[field_error(exc.path, exc.reason)]) from exc


def parse_datetime(value: Any) -> datetime:
    """ISO-8601 with an offset ('Z' or +hh:mm); naive times are ambiguous and refused."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 date-time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("must be an ISO-8601 date-time like 2026-01-31T09:30:00Z") from exc
    if parsed.tzinfo is None:
        raise ValueError("must include a UTC offset, e.g. Z or +02:00")
    return require_within(parsed, EARLIEST, LATEST, "in UTC")


def parse_date(value: Any) -> date:
    """A calendar date, YYYY-MM-DD."""
    if not isinstance(value, str):
        raise ValueError("must be a YYYY-MM-DD date string")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("must be a date like 2026-01-31") from exc


def parse_number(value: Any, spec: Field) -> int | float:
    """A finite JSON number within the spec's bounds; ints stay exact, huge ones are refused, not overflowed."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a number")
    if isinstance(value, int) and abs(value) > MAX_SAFE_INT:
        if spec.kind == "int":
            raise ValueError(f"must be a whole number between -{MAX_SAFE_INT} and {MAX_SAFE_INT}")
        try:
            value = float(value)  # then the bounds below speak for it
        except OverflowError as exc:
            raise ValueError("must be a finite number") from exc
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    if spec.kind == "int" and value != int(value):
        raise ValueError("must be a whole number")
    if spec.minimum is not None and value < spec.minimum:
        raise ValueError(f"must be at least {spec.minimum:g}")
    if spec.maximum is not None and value > spec.maximum:
        raise ValueError(f"must be at most {spec.maximum:g}")
    return int(value) if spec.kind == "int" else float(value)


def parse_string(value: Any, spec: Field) -> str:
    """A non-empty string any database can store, within the spec's length and choices."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    if len(value) > spec.max_length:
        raise ValueError(f"must be at most {spec.max_length} characters")
    problem = value_problem(value)
    if problem:
        raise ValueError(problem)
    if spec.choices and value not in spec.choices:
        raise ValueError(f"must be one of {', '.join(spec.choices)}")
    return value


def parse_list(value: Any, spec: Field) -> list[Any]:
    """A list whose items each pass `spec.item` (checked before any item is hashed or compared)."""
    if not isinstance(value, list):
        raise ValueError("must be a list")
    if len(value) > spec.max_length:
        raise ValueError(f"must have at most {spec.max_length} items")
    if spec.item is None:
        return list(value)
    clean = []
    for index, item in enumerate(value):
        try:
            clean.append(_coerce(item, spec.item))
        except ValueError as exc:
            raise ValueError(f"item {index} {exc}") from exc
    return clean


def _coerce(value: Any, spec: Field) -> Any:
    """Check one value against its spec; raise ValueError with the reason."""
    kind = spec.kind
    if kind == "str":
        return parse_string(value, spec)
    if kind in ("number", "int"):
        return parse_number(value, spec)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if kind == "date":
        return parse_date(value)
    if kind == "datetime":
        return parse_datetime(value)
    if kind == "time_zone":
        if not isinstance(value, str) or not is_time_zone(value):
            raise ValueError("must be an IANA time zone name such as Europe/Paris or UTC")
        return value
    if kind == "list":
        return parse_list(value, spec)
    raise AssertionError(f"unknown field kind {kind}")


def check_fields(data: Any, fields: dict[str, Field], prefix: str = "") -> tuple[dict[str, Any], Errors]:
    """Validate an object against its field specs: unknown fields, missing ones and bad values."""
    if not isinstance(data, dict):
        return {}, [field_error(prefix or "body", "must be a JSON object")]
    errors: Errors = []
    clean: dict[str, Any] = {}
    for name in data.keys() - fields.keys():
        errors.append(field_error(f"{prefix}{name}", "unknown field"))
    for name, spec in fields.items():
        value = data.get(name)
        if value is None:
            if spec.required:
                errors.append(field_error(f"{prefix}{name}", "is required"))
            continue
        try:
            clean[name] = _coerce(value, spec)
        except ValueError as exc:
            errors.append(field_error(f"{prefix}{name}", str(exc)))
    return clean, errors


def validated(data: Any, fields: dict[str, Field]) -> dict[str, Any]:
    """check_fields, raising 422 with every problem at once."""
    clean, errors = check_fields(data, fields)
    if errors:
        raise ApiError(422, "the request body is invalid", details=sorted(errors, key=lambda e: e["path"]))
    return clean


def validated_value(name: str, value: Any, spec: Field) -> Any:
    """One field checked on its own (when null has a meaning of its own); 422 naming it."""
    try:
        return _coerce(value, spec)
    except ValueError as exc:
        raise ApiError(422, "the request body is invalid", details=[field_error(name, str(exc))]) from exc
