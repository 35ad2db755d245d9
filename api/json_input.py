"""Decode untrusted JSON (REST bodies, WebSocket frames) with limits, so no value can crash a handler later.

Refused here, with the path of the offending value: nesting deeper than MAX_DEPTH (the recursion a
deep document costs every later walk of it), numbers no float can hold (NaN, Infinity, 1e400, integers
of hundreds of digits), and strings no database column can store (NUL, lone UTF-16 surrogates).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32  # our deepest document is a batch: body -> events -> event -> field
MAX_INT_DIGITS = 300  # beyond float range anyway; Python's own limit (4,300 digits) is an opaque ValueError
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A decoded string can hold NUL or a lone surrogate only through a \u escape (JSON refuses raw control
# characters, UTF-8 refuses surrogates) or, for text given as str, the raw character itself.
UNSTORABLE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
UNSTORABLE_ESCAPE_BYTES = re.compile(rb"\x00|\\u(?:0000|[dD][89a-fA-F])")  # \x00: also UTF-16/32 text


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
    try:
        value = json.loads(text, parse_int=_parse_int, parse_constant=_parse_constant)
    except RecursionError as exc:
        raise JsonInputError(root, f"nests deeper than {max_depth} levels") from exc
    except ValueError as exc:  # also UnicodeDecodeError: the bytes are not UTF-8
        raise JsonInputError(root, "is not valid JSON") from exc
    if not _acceptable(value, max_depth, _may_hold_unstorable(text)):
        check_value(value, root, max_depth)  # raises, naming the path
    return value


def _may_hold_unstorable(text: str | bytes) -> bool:
    """False when no decoded string can hold NUL or a lone surrogate (one regex over the text)."""
    if isinstance(text, bytes):
        return (b"\\u" in text or b"\x00" in text) and UNSTORABLE_ESCAPE_BYTES.search(text) is not None
    return UNSTORABLE.search(text) is not None or ("\\u" in text and UNSTORABLE_ESCAPE.search(text) is not None)


def _acceptable(value: Any, max_depth: int, check_strings: bool) -> bool:
    """check_value's verdict without building a path per value (a 1,000-statement batch has ~70,000
    values); check_value runs again only to name the offending one."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if type(node) is dict:
            if check_strings and any(UNSTORABLE.search(key) for key in node):
                return False
            children: Any = node.values()
        elif type(node) is list:
            children = node
        else:
            return value_problem(node) is None  # a scalar document
        if depth > max_depth:
            return False
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append((child, depth + 1))
            elif kind is str:
                if check_strings and UNSTORABLE.search(child):
                    return False
            elif kind is float:
                if not math.isfinite(child):
                    return False
            elif kind is _Unrepresentable:
                return False
    return True


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
