"""Decode untrusted JSON (REST bodies, WebSocket frames) with limits, so no value can crash a handler later.

Refused here, with the path of the offending value: nesting deeper than MAX_DEPTH (the recursion a
deep document costs every later walk of it), numbers no float can hold (NaN, Infinity, 1e400, integers
of hundreds of digits), and strings no database column can store (NUL, lone UTF-16 surrogates).
"""

from __future__ import annotations

import json
import math
import re
from itertools import chain, compress, repeat
from operator import is_
from typing import Any

MAX_DEPTH = 32  # our deepest document is a batch: body -> events -> event -> field
MAX_INT_DIGITS = 300  # beyond float range anyway; Python's own limit (4,300 digits) is an opaque ValueError
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A decoded string can hold NUL or a lone surrogate only through a \u escape (JSON refuses raw control
# characters, UTF-8 refuses surrogates) or, for text given as str, the raw character itself.
UNSTORABLE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
UNSTORABLE_ESCAPE_BYTES = re.compile(rb"\x00|\\u(?:0000|[dD][89a-fA-F])")  # \x00: also UTF-16/32 text
# Every ASCII digit as "0", any other byte as " ": an integer token of more than MAX_INT_DIGITS digits is then a
# run of that many "0" (in UTF-8 no byte of a non-ASCII character is an ASCII digit).
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_INT = b"0" * (MAX_INT_DIGITS + 1)


class JsonInputError(ValueError):
    """The document is malformed or holds a value we refuse; `path` names where."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class _Unrepresentable:
    """Placeholder for a number token no float can hold; reported with its path after decoding."""

    def __init__(self, token: str) -> None:
        self.token = token


def _parse_int(token: str) -> int | _Unrepresentable:
    return int(token) if len(token.lstrip("-")) <= MAX_INT_DIGITS else _Unrepresentable(token)


def _parse_constant(token: str) -> _Unrepresentable:
    return _Unrepresentable(token)  # NaN, Infinity, -Infinity: not JSON at all (RFC 8259, 6)


def loads(text: str | bytes, root: str = "body", max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON text and check every value; JsonInputError names the first bad one."""
    parse_int = _parse_int if _may_hold_long_int(text) else None  # None: json's own int(), no call per number
    try:
        value = json.loads(text, parse_int=parse_int, parse_constant=_parse_constant)
    except RecursionError as exc:
        raise JsonInputError(root, f"nests deeper than {max_depth} levels") from exc
    except ValueError as exc:  # also UnicodeDecodeError: the bytes are not UTF-8
        raise JsonInputError(root, "is not valid JSON") from exc
    if not _acceptable(value, max_depth, _may_hold_unstorable(text)):
        check_value(value, root, max_depth)  # raises, naming the path
    return value


def _may_hold_long_int(text: str | bytes) -> bool:
    """False when no integer token can have more than MAX_INT_DIGITS digits (no run of that many ASCII digits in
    the UTF-8 text): then json's int() gives what _parse_int would, and the decoder makes no Python call per
    integer (a 1,000-event batch has ~1,500). Text with a NUL byte (UTF-16 or UTF-32, or a NUL) takes _parse_int."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return b"\x00" in data or _LONG_INT in data.translate(_DIGITS_AS_ZERO)


def _may_hold_unstorable(text: str | bytes) -> bool:
    """False when no decoded string can hold NUL or a lone surrogate (one regex over the text)."""
    if isinstance(text, bytes):
        return (b"\\u" in text or b"\x00" in text) and UNSTORABLE_ESCAPE_BYTES.search(text) is not None
    return UNSTORABLE.search(text) is not None or ("\\u" in text and UNSTORABLE_ESCAPE.search(text) is not None)


def _acceptable(value: Any, max_depth: int, check_strings: bool) -> bool:
    """check_value's verdict without building a path per value (a 1,000-statement batch has ~70,000
    values); check_value runs again only to name the offending one. One depth level at a time, each
    level's values looked at by builtins (their types as a set; floats and strings picked out by type),
    so no Python runs per value of a level that holds only safe scalars."""
    if type(value) is not dict and type(value) is not list:
        return value_problem(value) is None  # a scalar document
    level, depth = [value], 1
    while level:
        if depth > max_depth:
            return False
        dicts, lists = _dicts_and_lists(level)
        if check_strings and any(map(UNSTORABLE.search, chain.from_iterable(dicts))):  # the keys
            return False
        children = [*chain.from_iterable(map(dict.values, dicts)), *chain.from_iterable(lists)]
        kinds = list(map(type, children))
        found = set(kinds)
        if not _scalars_acceptable(children, kinds, found, check_strings):
            return False
        level = (
            [child for child in children if type(child) is dict or type(child) is list] if found & _CONTAINERS else []
        )
        depth += 1
    return True


_CONTAINERS = {dict, list}


def _scalars_acceptable(values: list[Any], kinds: list[type], found: set[type], check_strings: bool) -> bool:
    """Whether a level's scalars pass (its containers are looked at one level down): floats and strings are
    picked out by their types, never by Python per value."""
    if _Unrepresentable in found:
        return False
    if float in found and not all(map(math.isfinite, compress(values, map(is_, kinds, repeat(float))))):
        return False
    strings = compress(values, map(is_, kinds, repeat(str))) if check_strings and str in found else ()
    return not any(map(UNSTORABLE.search, strings))


def _dicts_and_lists(level: list[Any]) -> tuple[list[dict], list[list]]:
    """A level's containers split by type (one set of types when the level holds one kind, as usual)."""
    kinds = set(map(type, level))
    if kinds == {dict}:
        return level, []
    if kinds == {list}:
        return [], level
    return [node for node in level if type(node) is dict], [node for node in level if type(node) is list]


def child_path(path: str, key: str | int, top: bool) -> str:
    """`events[3].learner` style paths; top-level fields are named without the root."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return key if top else f"{path}.{key}"


def value_problem(value: Any) -> str | None:
    """Why a scalar cannot be accepted anywhere, or None."""
    if isinstance(value, str):
        return "must not contain NUL characters or lone UTF-16 surrogates" if UNSTORABLE.search(value) else None
    if isinstance(value, _Unrepresentable) or (isinstance(value, float) and not math.isfinite(value)):
        return "must be a finite number (NaN, Infinity and out-of-range numbers are not accepted)"
    return None


def check_value(value: Any, root: str = "body", max_depth: int = MAX_DEPTH) -> None:
    """Walk a decoded document (iteratively: it may be deep) and refuse the first bad value."""
    stack: list[tuple[Any, str, int]] = [(value, root, 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > max_depth:
                raise JsonInputError(path, f"nests deeper than {max_depth} levels")
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                if isinstance(key, str) and UNSTORABLE.search(key):
                    raise JsonInputError(path, "has a key with a NUL character or a lone UTF-16 surrogate")
                stack.append((child, child_path(path, key, depth == 1), depth + 1))
            continue
        problem = value_problem(node)
        if problem:
            raise JsonInputError(path, problem)
