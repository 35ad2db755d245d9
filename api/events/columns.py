"""A batch's well-formed events checked a column at a time: the batch path's fast lane, ahead of the per-event one.

schemas.well_formed_event checks one event in Python, field by field (~6 us an event, most of validation's
CPU). Events of one kind that send the same fields are checked here together: each field's values as one
list, by builtins (their types as one set, min and max against the bounds, str.isascii and str.strip mapped
over them), then each event's fingerprint text joined and hashed by maps, and its clean dict built by zip.
Whatever is unusual in a group (a missing or null field, a wrong type, a bound crossed, a cross-field rule
broken, a small group) leaves that whole group to the per-event path, which alone words errors: so an event
this lane answers gets exactly what well_formed_event would have given it (tests/test_event_columns.py).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from functools import cache
from hashlib import sha256
from itertools import compress, repeat
from operator import attrgetter, eq, itemgetter, le, methodcaller
from typing import Any, cast

from api.compiled_fields import _INNER_YEARS, _datetime
from api.events.schemas import KIND_FIELDS
from api.events.well_formed import FINGERPRINT_WRITERS, utc_text
from api.json_input import UNSTORABLE
from api.validation import MAX_SAFE_INT, Field

MIN_GROUP = 8  # smaller groups take the per-event path: the lists and maps cost more than they save
MAX_GROUPS = 16  # a batch of more kinds of event (fields sent) takes the per-event path: one pass over it per group
Checked = list[Any] | None  # a column's clean values, or None: the group takes the per-event path
_hexdigest = methodcaller("hexdigest")


def _strings(spec: Field) -> Callable[[list[Any]], Checked]:
    """compiled_fields._string over a column: exact str, within max_length, not blank, nothing unstorable."""
    limit = spec.max_length
    accepted = None if not spec.choices else frozenset(c for c in spec.choices if _strings_ok([c], limit))

    def check(values: list[Any]) -> Checked:
        if set(map(type, values)) != {str}:
            return None
        if accepted is not None:
            return values if accepted.issuperset(values) else None
        return values if _strings_ok(values, limit) else None

    return check


def _strings_ok(values: list[str], limit: int) -> bool:
    if max(map(len, values)) > limit or not all(map(str.strip, values)):
        return False
    # ASCII without NUL holds nothing unstorable; else the search, which finds nothing in such a string either
    return (all(map(str.isascii, values)) and "\x00" not in "".join(values)) or not any(map(UNSTORABLE.search, values))


def _numbers(spec: Field) -> Callable[[list[Any]], Checked]:
    """compiled_fields._number ("number": a float) over a column: exact int or float, finite, within bounds,
    an int within MAX_SAFE_INT. (A float beyond MAX_SAFE_INT beside an int sends the group to the per-event
    path: only ever slower, never another answer.)"""
    low = -math.inf if spec.minimum is None else spec.minimum
    high = math.inf if spec.maximum is None else spec.maximum

    def check(values: list[Any]) -> Checked:
        kinds = set(map(type, values))
        if not kinds <= {int, float}:
            return None
        try:
            if not all(map(math.isfinite, values)):
                return None
        except OverflowError:  # an int beyond any float
            return None
        smallest, largest = min(values), max(values)
        if smallest < low or largest > high:
            return None
        if int in kinds and (smallest < -MAX_SAFE_INT or largest > MAX_SAFE_INT):
            return None
        return values if kinds == {float} else list(map(float, values))

    return check


def _dates(values: list[Any]) -> Checked:
    if set(map(type, values)) != {str}:
        return None
    try:
        return list(map(date.fromisoformat, values))
    except ValueError:
        return None


def _moments(values: list[Any]) -> Checked:
    """compiled_fields._datetime over a column: parsed by one map; the per-value check only when some year is
    at the bounds' (or something did not parse)."""
    if set(map(type, values)) == {str}:
        try:
            parsed = list(map(datetime.fromisoformat, values))
        except (ValueError, OverflowError):
            parsed = []
        years = list(map(_year, parsed))
        if parsed and None not in map(_zone, parsed) and _INNER_YEARS[0] < min(years) <= max(years) < _INNER_YEARS[1]:
            return parsed
    each = list(map(_datetime, values))
    return None if None in each else each


def _utc_texts(values: list[str], parsed: list[datetime]) -> list[str | None]:
    """well_formed.utc_text of each value: for a column all in one of the two usual forms (with or without a
    non-zero fraction, "+00:00", no hour 24) the values themselves, checked by maps; else utc_text each."""
    sizes = set(map(len, values))
    if len(sizes) == 1 and set(map(_offset, values)) == {"+00:00"} and "24" not in set(map(_hour, values)):
        separators = set(map(_separators, values))
        if sizes == {25} and separators == {"--T::+"}:
            return cast(list[str | None], values)
        if sizes == {32} and separators == {"--T::."} and all(map(_microsecond, parsed)):
            return cast(list[str | None], values)
    return list(map(utc_text, values, parsed))


_year, _zone, _microsecond = attrgetter("year"), attrgetter("tzinfo"), attrgetter("microsecond")
_offset, _hour, _separators = itemgetter(slice(-6, None)), itemgetter(slice(11, 13)), itemgetter(slice(4, 20, 3))


def _utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


_CHECKS: dict[str, Callable[[Field], Callable[[list[Any]], Checked]]] = {
    "str": _strings,
    "number": _numbers,
    "date": lambda spec: _dates,
    "datetime": lambda spec: _moments,
}

Column = tuple[Callable[[list[Any]], Checked], Callable[[Any], str] | None]  # its check, its fingerprint writer
_COLUMNS: dict[str, dict[str, Column]] = {
    kind: {name: (_CHECKS[spec.kind](spec), FINGERPRINT_WRITERS.get(spec.kind)) for name, spec in fields.items()}
    for kind, fields in KIND_FIELDS.items()
}


def well_formed_batch(raws: list[Any], now: datetime, latest: datetime) -> list[dict[str, Any] | None]:
    """Per event what schemas.well_formed_event(raw, now, latest) gives it, with its `index` added, for the
    events of groups this lane could check; None for the others, which take the per-event path."""
    out: list[dict[str, Any] | None] = [None] * len(raws)
    if len(raws) < MIN_GROUP or set(map(type, raws)) != {dict}:
        return out
    kinds = list(map(methodcaller("get", "kind"), raws))
    if set(map(type, kinds)) != {str}:  # some event without a kind (or not a string): a 422 anyway
        return out
    keys = list(zip(kinds, map(tuple, raws)))
    sizes = Counter(keys)  # groups found in C: no Python per event
    if len(sizes) > MAX_GROUPS:
        return out
    for (kind, sent), size in sizes.items():
        if size >= MIN_GROUP and kind in _COLUMNS:
            indexes = list(compress(range(len(raws)), map(eq, keys, repeat((kind, sent)))))
            checked = _group(kind, sent, list(map(raws.__getitem__, indexes)), indexes, now, latest)
            for index, clean in zip(indexes, checked or ()):
                out[index] = clean
    return out


def _group(
    kind: str, sent: tuple[str, ...], members: list[dict[str, Any]], indexes: list[int], now: datetime, latest: datetime
) -> list[dict[str, Any]] | None:
    """The clean events of one group (one kind, the same fields sent), or None: the per-event path decides."""
    fields, columns = KIND_FIELDS[kind], _COLUMNS[kind]
    if not set(sent) <= columns.keys() or any(spec.required and name not in sent for name, spec in fields.items()):
        return None
    names = [name for name in fields if name in sent]  # the clean dict's order: the fields'
    found = _columns(kind, names, members)
    if found is None:
        return None
    clean, parts, sent_text = found
    names = [name for name in names if name in clean]  # less an optional field every event sent as null
    defaults = _rules(kind, clean, len(members), now, latest)
    if defaults is None:
        return None
    order = sorted(names)
    fingerprints = map(_fingerprint_template(kind, tuple(order)).format, *(parts[name] for name in order))
    hashes = list(map(_hexdigest, map(sha256, map(str.encode, fingerprints))))
    keys = (*names, *defaults, "hash", *(("occurred_at_text",) if sent_text else ()), "index")
    values_by_key = [*(clean[name] for name in names), *defaults.values(), hashes, *([sent_text] if sent_text else [])]
    return list(map(dict, map(zip, repeat(keys), zip(*values_by_key, indexes))))  # built in C: no frame per event


def _columns(
    kind: str, names: list[str], members: list[dict[str, Any]]
) -> tuple[dict[str, list[Any]], dict[str, list[str]], list[str] | None] | None:
    """Each field's clean values and fingerprint texts, and occurred_at's UTC texts as sent (when every event sent
    that form); None when a value needs the per-event path."""
    clean: dict[str, list[Any]] = {}
    parts: dict[str, list[str]] = {}
    sent_text: list[str] | None = None
    for name in names:
        check, write = _COLUMNS[kind][name]
        values = list(map(itemgetter(name), members))
        if values[0] is None and set(values) == {None} and not KIND_FIELDS[kind][name].required:
            continue  # null in every event: as if not sent (check_fields skips a null)
        checked = check(values)
        if checked is None:
            return None
        clean[name] = checked
        if write is not None:
            parts[name] = list(map(write, checked))
            continue
        texts = _utc_texts(values, checked)  # a date-time: its UTC text as sent, when it is that
        if None in texts:
            if any(texts):
                return None  # some sent in UTC's own form, some not: the per-event path (rare)
            parts[name] = list(map(_utc_iso, checked))
            continue
        written = cast(list[str], texts)  # no None among them
        parts[name] = written  # the template quotes a date-time's text
        if name == "occurred_at":
            sent_text = written
    return clean, parts, sent_text


@cache
def _fingerprint_template(kind: str, names: tuple[str, ...]) -> str:
    """The fingerprint text of events of this kind sending these fields (sorted), as a str.format template of their
    values' texts, a date-time's (no fingerprint writer: its UTC ISO text, which needs no escaping) in quotes: what
    json.dumps(clean, sort_keys=True, separators=(",", ":")) writes."""
    quotes = {name: '"' if _COLUMNS[kind][name][1] is None else "" for name in names}
    return "{{" + ",".join(f'"{name}":{quotes[name]}{{}}{quotes[name]}' for name in names) + "}}"


def _rules(
    kind: str, clean: dict[str, list[Any]], count: int, now: datetime, latest: datetime
) -> dict[str, list[Any]] | None:
    """schemas._kind_rules over the columns: the defaults they add (occurred_at), or None where any event breaks
    a rule (the per-event path then words it)."""
    if kind == "assessment" and "score" in clean and "max_score" in clean:
        if min(clean["max_score"]) <= 0 or not all(map(le, clean["score"], clean["max_score"])):
            return None
    defaults: dict[str, list[Any]] = {}
    if kind == "attendance" and "date" in clean:
        if max(clean["date"]) > latest.date():
            return None
        if "occurred_at" not in clean:
            defaults["occurred_at"] = list(map(datetime.combine, clean["date"], repeat(time()), repeat(UTC)))
    if "occurred_at" not in clean and not defaults:
        defaults["occurred_at"] = [now] * count
    occurred = clean.get("occurred_at") or defaults["occurred_at"]
    return defaults if max(occurred) <= latest else None
