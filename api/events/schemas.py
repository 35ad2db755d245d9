"""The public event format: field names per kind, and per-event validation (no database access)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, time, timedelta
from typing import Any

from api.compiled_fields import compile_fields
from api.errors import field_error
from api.events.well_formed import compile_event
from api.validation import Errors, Field, check_fields
from models import ATTENDANCE_STATUSES, EVENT_KINDS, EVENT_REFERENCE_FIELDS
from services.json_text import compact_encoder

MAX_BATCH = 5000
REF = Field("str", max_length=128)
COMMON = {
    "id": Field("str", max_length=128),
    "learner": Field("str", required=True, max_length=128),
    "kind": Field("str", required=True, choices=EVENT_KINDS),
    "occurred_at": Field("datetime", required=True),
}
CONTEXT = {
    "course": REF,
    "module": REF,
    "section": REF,
    "subject": REF,
    "duration_seconds": Field("number", minimum=0, maximum=7 * 24 * 3600),
}
KIND_FIELDS: dict[str, dict[str, Field]] = {
    "activity": {**COMMON, **CONTEXT},
    "heartbeat": {**COMMON, **CONTEXT},  # a session heartbeat: extends a session, never counts as activity
    "module_completed": {**COMMON, **CONTEXT, "module": Field("str", required=True, max_length=128)},
    "assessment": {
        **COMMON,
        **CONTEXT,
        "skill": REF,
        "score": Field("number", required=True, minimum=0),
        "max_score": Field("number", required=True, minimum=0, maximum=1e9),
    },
    "grade": {
        **COMMON,
        "occurred_at": Field("datetime"),
        "section": REF,
        "subject": REF,
        "exam": Field("str", required=True, max_length=128),
        "marks": Field("number", required=True, minimum=0),
    },
    "attendance": {
        **COMMON,
        "occurred_at": Field("datetime"),
        "section": Field("str", required=True, max_length=128),
        "date": Field("date", required=True),
        "status": Field("str", required=True, choices=ATTENDANCE_STATUSES),
    },
}
REFERENCE_FIELDS = EVENT_REFERENCE_FIELDS


def _kind_rules(clean: dict[str, Any], prefix: str, now: datetime, skew: timedelta) -> Errors:
    """Cross-field rules that a flat field spec cannot say."""
    errors: Errors = []
    kind = clean["kind"]
    if kind == "assessment" and "score" in clean and "max_score" in clean:
        if clean["max_score"] <= 0:
            errors.append(field_error(f"{prefix}max_score", "must be greater than 0"))
        elif clean["score"] > clean["max_score"]:
            errors.append(field_error(f"{prefix}score", f"must be between 0 and max_score ({clean['max_score']:g})"))
    if kind == "attendance" and "date" in clean:
        if clean["date"] > (now + skew).date():
            errors.append(field_error(f"{prefix}date", "is in the future"))
        clean.setdefault("occurred_at", datetime.combine(clean["date"], time(), UTC))
    clean.setdefault("occurred_at", now)
    if clean["occurred_at"] > now + skew:
        errors.append(field_error(f"{prefix}occurred_at", f"is more than {int(skew.total_seconds())} s in the future"))
    return errors


def _moment_text(value: Any) -> str:
    """How a fingerprint writes a value JSON has no form for: a date-time in UTC, a date as ISO text."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_canonical_json = compact_encoder(sort_keys=True, default=_moment_text)  # json.dumps' settings, built once


def body_hash(clean: dict[str, Any]) -> str:
    """Fingerprint of an event's meaning, so a re-sent event is recognised whatever its formatting.
    (Stored with every event: any change to its output would turn re-sent events into conflicts.)
    The encoder writes the values JSON knows itself and asks _moment_text for the others."""
    return hashlib.sha256(_canonical_json(clean).encode()).hexdigest()


def validate_event(raw: Any, prefix: str, now: datetime, skew: timedelta) -> tuple[dict[str, Any], Errors]:
    """Validate one event's shape and values; returns the clean event and its errors. A well-formed event
    takes its kind's compiled check; anything else goes through check_fields, which words the errors."""
    kind = raw.get("kind") if type(raw) is dict else None
    clean = _COMPILED[kind](raw) if type(kind) is str and kind in _COMPILED else None
    if clean is not None:
        return clean, _finish(clean, prefix, now, skew)
    return _validate_in_detail(raw, prefix, now, skew)


def well_formed_event(raw: Any, now: datetime, latest: datetime) -> dict[str, Any] | None:
    """validate_event's clean event (with its hash) for an event with no problem at all, in one pass per kind
    (api/events/well_formed.py), then _kind_rules' checks and defaults; None for anything else, which
    validate_event then judges and words (so None may leave the clean event half-defaulted: it is dropped).
    `latest`: now + the allowed clock skew. The event's `occurred_at_text` is occurred_at.isoformat(), when
    the text sent was already that."""
    kind = raw.get("kind") if type(raw) is dict else None
    check = _WELL_FORMED.get(kind) if type(kind) is str else None
    found = check(raw) if check is not None else None
    if found is None:
        return None
    clean, text, moments = found
    if _kind_rules(clean, "", now, latest - now):  # the rules validate_event applies, in one place
        return None
    clean["hash"] = hashlib.sha256(text.encode()).hexdigest()
    if "occurred_at" in moments:
        clean["occurred_at_text"] = moments["occurred_at"]
    return clean


def _validate_in_detail(raw: Any, prefix: str, now: datetime, skew: timedelta) -> tuple[dict[str, Any], Errors]:
    """validate_event through check_fields: every error, worded, with its field path."""
    if not isinstance(raw, dict):
        return {}, [field_error(prefix.rstrip(".") or "body", "must be a JSON object")]
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in KIND_FIELDS:  # a list or object here is unhashable
        reason = "is required" if kind is None else f"must be one of {', '.join(EVENT_KINDS)}"
        return {}, [field_error(f"{prefix}kind", reason)]
    clean, errors = check_fields(raw, KIND_FIELDS[kind], prefix)
    for error in errors:
        if error["reason"] == "unknown field" and error["path"][len(prefix) :] in _ALL_FIELDS:
            error["reason"] = f"is not allowed for kind {kind}"
    return clean, errors or _finish(clean, prefix, now, skew)


def _finish(clean: dict[str, Any], prefix: str, now: datetime, skew: timedelta) -> Errors:
    """Hash a clean event, then apply the cross-field rules and defaults; returns their errors."""
    digest = body_hash(clean)  # before defaults are filled in, so a re-send hashes the same
    errors = _kind_rules(clean, prefix, now, skew)
    clean["hash"] = digest
    return errors


_ALL_FIELDS = {name for fields in KIND_FIELDS.values() for name in fields}
_COMPILED = {kind: compile_fields(fields) for kind, fields in KIND_FIELDS.items()}
_WELL_FORMED = {kind: compile_event(fields) for kind, fields in KIND_FIELDS.items()}
