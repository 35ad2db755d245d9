"""The range of date-times LearnPulse accepts, checked one way by the REST validators and the xAPI LRS."""

from __future__ import annotations

from datetime import UTC, datetime

# A day of margin at each end of datetime's years 1..9999, so any UTC offset still converts.
EARLIEST_SUPPORTED = datetime(1, 1, 2, tzinfo=UTC)
LATEST_SUPPORTED = datetime(9999, 12, 30, tzinfo=UTC)


def require_within(moment: datetime, earliest: datetime, latest: datetime, note: str) -> datetime:
    """`moment` (aware) if it lies between earliest and latest, else a ValueError saying the range and `note`.

    Comparing converts to UTC, which overflows for an offset near year 1 or 9999: that is out of range too."""
    try:
        in_range = earliest <= moment <= latest
    except OverflowError:
        in_range = False
    if not in_range:
        raise ValueError(f"must be between {earliest.date()} and {latest.date()} {note}")
    return moment
