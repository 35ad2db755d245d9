"""A well-formed event checked and written as its fingerprint text in one pass: the batch path's fast lane.

The compiled check (api/compiled_fields.py) gave the clean event, then schemas.body_hash encoded it again
with json's C encoder, which called back into Python for the date-time, and formatted the date-time with
isoformat (~0.8 us) twice: for the fingerprint and again for the live event. Here each clean value is
written as the text that encoder writes for it (json's own string escaper, float's repr), in sorted key
order, as the value is checked; a date-time sent in the canonical UTC form is its own text. Whatever this
does not know answers None, and the general path decides. tests/test_event_fingerprint.py compares the texts
with body_hash's over many generated events.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from json.encoder import encode_basestring_ascii
from typing import Any

from api.compiled_fields import compile_value
from api.validation import Field

# A clean event, its fingerprint text (what schemas.body_hash hashes), and its date-times' UTC ISO texts
# where each is also the value's own isoformat() (sent with "+00:00" or "Z"); None: the general path decides.
Checked = tuple[dict[str, Any], str, dict[str, str]]
EventCheck = Callable[[dict[str, Any]], "Checked | None"]


def utc_text(sent: str, moment: datetime) -> str | None:
    """moment.isoformat() when `moment` was parsed from `sent` and `sent` is already that text, up to "Z"
    for "+00:00", with a zero offset; else None. (Then it is also moment.astimezone(UTC).isoformat().)
    The separators' places are fixed; fromisoformat accepts only ASCII digits between them."""
    size = len(sent)
    if size == 25 or size == 20:  # 2026-01-31T09:30:00+00:00, 2026-01-31T09:30:00Z
        if sent[4:20:3] == "--T::+" and sent[19:] == "+00:00":
            return sent if sent[11:13] != "24" else None  # 24:00 (newer Pythons) is the next day's 00:00
        if size == 20 and sent[4:20:3] == "--T::Z":
            return sent[:19] + "+00:00" if sent[11:13] != "24" else None
        return None
    if sent[4:20:3] != "--T::." or not moment.microsecond:  # isoformat writes no fraction of zero
        return None
    if size == 32 and sent[26:] == "+00:00":  # 2026-01-31T09:30:00.123456+00:00
        return sent
    if size == 27 and sent[26] == "Z":
        return sent[:26] + "+00:00"
    return None


def _date_json(day: date) -> str:
    return f'"{day.isoformat()}"'


# How json's encoder writes each kind of clean value (c_make_encoder: strings through encode_basestring_ascii,
# floats through float.__repr__); a "number" field's clean value is always a float (compiled_fields._number).
FINGERPRINT_WRITERS: dict[str, Callable[[Any], str]] = {
    "str": encode_basestring_ascii,
    "number": float.__repr__,
    "date": _date_json,
}


def compile_event(fields: dict[str, Field]) -> EventCheck:
    """One kind's check: compile_fields' clean dict (same keys, order and values) with the text
    json.dumps(clean, sort_keys=True, separators=(",", ":"), default=schemas._moment_text) gives,
    or None whenever check_fields might report an error or a field's kind is not written here."""
    allowed, order = frozenset(fields), sorted(fields)
    if any(spec.kind not in FINGERPRINT_WRITERS and spec.kind != "datetime" for spec in fields.values()):
        raise AssertionError(f"no fingerprint writer for {fields}")
    steps = tuple(
        (name, compile_value(spec), spec.required, order.index(name), f',"{name}":', FINGERPRINT_WRITERS.get(spec.kind))
        for name, spec in fields.items()
    )
    blank = [""] * len(order)

    def check(data: dict[str, Any]) -> Checked | None:
        if not data.keys() <= allowed:
            return None
        clean: dict[str, Any] = {}
        texts: dict[str, str] = {}
        parts = blank.copy()
        get = data.get
        for name, coerce, required, slot, key, write in steps:
            value = get(name)
            if value is None:  # absent or null: check_fields skips it, or reports it missing
                if required:
                    return None
                continue
            checked = coerce(value)
            if checked is None:
                return None
            clean[name] = checked
            if write is not None:
                parts[slot] = key + write(checked)
                continue
            text = utc_text(value, checked)  # a date-time: its UTC ISO text (no character in it needs escaping)
            if text is None:
                text = checked.astimezone(UTC).isoformat()
            else:
                texts[name] = text
            parts[slot] = f'{key}"{text}"'

        return clean, f"{{{''.join(parts)[1:]}}}", texts  # each part has its comma: the first's goes

    return check
