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
