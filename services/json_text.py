"""JSON text of plain values (decoded JSON and what is built from it), without json's set-up on every call."""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as json_encoder
from typing import Any


def compact_encoder(
    sort_keys: bool = False, ensure_ascii: bool = True, default: Callable[[Any], Any] | None = None
) -> Callable[[Any], str]:
    """The text json.JSONEncoder(separators=(",", ":"), ...).encode returns, for values without cycles.
    `default`: what a value JSON has no form for is written as (json.dumps' `default`).

    JSONEncoder builds its C encoder and a cycle-check table on every call: 40% of the time of a
    statement-sized document, and the xAPI path encodes three per statement. Without the C module this is
    JSONEncoder itself."""
    reference = json.JSONEncoder(sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=ensure_ascii, default=default)
    make = getattr(json_encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover  (CPython always has it)
        return reference.encode
    strings = json_encoder.encode_basestring_ascii if ensure_ascii else json_encoder.encode_basestring
    encode = make(None, reference.default, strings, None, ":", ",", sort_keys, False, True)

    def text(value: Any) -> str:
        return "".join(encode(value, 0))

    return text


class EncodedDict(dict):
    """A dict that carries its own `json.dumps` text, kept with it where it is cached (read-only from then on):
    `spliced_dumps` inserts that text instead of encoding the dict again. Everywhere else a plain dict."""

    json: str

    @classmethod
    def of(cls, value: dict[str, Any]) -> EncodedDict:
        encoded = cls(value)
        encoded.json = json.dumps(value)
        return encoded


class SplicedDict(dict):
    """A dict whose values `spliced_dumps` visits one by one (to reach the EncodedDicts within)."""


class SplicedList(list):
    """A list whose items `spliced_dumps` visits one by one."""


def spliced_dumps(value: Any) -> str:
    """Exactly `json.dumps(value)` (default separators, string keys), with the text of every EncodedDict that
    SplicedDicts and SplicedLists lead to inserted as kept instead of encoded again."""
    if isinstance(value, EncodedDict):
        return value.json
    if isinstance(value, SplicedDict):
        return "{" + ", ".join(json.dumps(key) + ": " + spliced_dumps(item) for key, item in value.items()) + "}"
    if isinstance(value, SplicedList):
        return "[" + ", ".join(spliced_dumps(item) for item in value) + "]"
    return json.dumps(value)
