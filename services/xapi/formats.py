"""The value formats xAPI 1.0.3 requires (IRIs, UUIDs, language tags, ISO 8601 timestamps and durations)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

from services.timestamps import LATEST_SUPPORTED, require_within

# Best effort, as the specification allows: a scheme, then no whitespace.
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")
MAILTO = re.compile(r"^mailto:[^@\s]+@[^@\s]+$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SHA1_HEX = re.compile(r"^[0-9a-fA-F]{40}$")
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")  # RFC 5646's token lengths
_NUMBER = r"\d+(?:[.,]\d+)?"
DURATION = re.compile(
    rf"^P(?!$)(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?$"
)
_DURATION_PARTS = re.compile(rf"({_NUMBER})([YMWDHS])")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), LATEST_SUPPORTED
_SECONDS = {"Y": 365 * 86400, "W": 7 * 86400, "D": 86400, "H": 3600, "S": 1}


@lru_cache(maxsize=4096)  # validation parses each statement's timestamp, then preparing it again
def parse_timestamp(value: str) -> datetime:
    """An ISO 8601 combined date and time; no offset means UTC; -00:00 is refused (RFC 3339: unknown offset)."""
    if not TIMESTAMP.match(value) or value.endswith("-00:00") or value.endswith("-0000"):
        raise ValueError("must be an ISO 8601 timestamp like 2026-01-31T09:30:00.000Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("must be an ISO 8601 timestamp with a real date and time") from exc
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return require_within(parsed, EARLIEST, LATEST, "(this LRS's range)")


def duration_seconds(value: str) -> float:
    """Seconds in an ISO 8601 duration (months count 30 days, years 365: durations of study, not calendars)."""
    date_part, _, time_part = value[1:].partition("T")
    total = 0.0
    for part, minute in ((date_part, 30 * 86400), (time_part, 60)):
        for number, unit in _DURATION_PARTS.findall(part):
            total += float(number.replace(",", ".")) * (minute if unit == "M" else _SECONDS[unit])
    return total


def iso_utc(moment: datetime) -> str:
    """A timestamp as the LRS returns it: UTC, milliseconds, Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"  # strftime costs 10x more


def now_ms() -> datetime:
    """Now, truncated to the millisecond the LRS returns, so `since`/`until` compare with what clients saw."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
