"""Request validation: JSON bodies and flat field specs that name each bad field and the reason."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import request

from api.errors import ApiError, field_error

Errors = list[dict[str, str]]


@dataclass(frozen=True)
class Field:
    """What one JSON field may hold."""

    kind: str  # "str", "number", "int", "bool", "date", "datetime"
    required: bool = False
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 200


def json_body() -> Any:
    """The parsed JSON body; 415 for another content type, 400 for malformed JSON."""
    if not request.is_json:
        raise ApiError(415, "send the body as JSON with Content-Type: application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "the body is not valid JSON", details=[field_error("body", "malformed JSON")])
    return data


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
    return parsed


def parse_date(value: Any) -> date:
    """A calendar date, YYYY-MM-DD."""
    if not isinstance(value, str):
        raise ValueError("must be a YYYY-MM-DD date string")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("must be a date like 2026-01-31") from exc


def _coerce(value: Any, spec: Field) -> Any:
    """Check one value against its spec; raise ValueError with the reason."""
    kind = spec.kind
    if kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be a non-empty string")
        if len(value) > spec.max_length:
            raise ValueError(f"must be at most {spec.max_length} characters")
        if spec.choices and value not in spec.choices:
            raise ValueError(f"must be one of {', '.join(spec.choices)}")
        return value
    if kind in ("number", "int"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError("must be a number")
        if kind == "int" and value != int(value):
            raise ValueError("must be a whole number")
        if spec.minimum is not None and value < spec.minimum:
            raise ValueError(f"must be at least {spec.minimum:g}")
        if spec.maximum is not None and value > spec.maximum:
            raise ValueError(f"must be at most {spec.maximum:g}")
        return int(value) if kind == "int" else float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if kind == "date":
        return parse_date(value)
    if kind == "datetime":
        return parse_datetime(value)
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
