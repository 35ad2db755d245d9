"""json_input.loads' fast lanes answer exactly as the loader did before them: the same value, or the same
refusal (path and reason). The lanes: json's own int() when no integer token can exceed MAX_INT_DIGITS
(_may_hold_long_int), and _acceptable looking at a whole depth level at once.

The reference below is the loader as it was (every integer through _parse_int, one value at a time)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api import json_input
from api.json_input import MAX_DEPTH, MAX_INT_DIGITS, JsonInputError, check_value, loads

SETTINGS = settings(
    max_examples=700, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def _reference_acceptable(value: Any, max_depth: int, check_strings: bool) -> bool:
    """_acceptable as first written: one value at a time."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if type(node) is dict:
            if check_strings and any(json_input.UNSTORABLE.search(key) for key in node):
                return False
            children: Any = node.values()
        elif type(node) is list:
            children = node
        else:
            return json_input.value_problem(node) is None
        if depth > max_depth:
            return False
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append((child, depth + 1))
            elif kind is str:
                if check_strings and json_input.UNSTORABLE.search(child):
                    return False
            elif kind is float:
                if not math.isfinite(child):
                    return False
            elif kind is json_input._Unrepresentable:
                return False
    return True


def reference_loads(text: str | bytes, root: str = "body", max_depth: int = MAX_DEPTH) -> Any:
    """loads as first written."""
    try:
        value = json.loads(text, parse_int=json_input._parse_int, parse_constant=json_input._parse_constant)
    except RecursionError as exc:
        raise JsonInputError(root, f"nests deeper than {max_depth} levels") from exc
    except ValueError as exc:
        raise JsonInputError(root, "is not valid JSON") from exc
    if not _reference_acceptable(value, max_depth, json_input._may_hold_unstorable(text)):
        check_value(value, root, max_depth)
    return value


def outcome(load: Any, text: str | bytes, max_depth: int = MAX_DEPTH) -> tuple[str, Any]:
    try:
        return "value", repr(load(text, "body", max_depth))  # repr: NaN never reaches here, -0.0 stays -0.0
    except JsonInputError as error:
        return "error", (error.path, error.reason)


def same(text: str | bytes, max_depth: int = MAX_DEPTH) -> tuple[str, Any]:
    fast = outcome(loads, text, max_depth)
    assert fast == outcome(reference_loads, text, max_depth), text
    return fast


GOOD = st.sampled_from(
    [
        "0",
        "-0",
        "7",
        "-12",
        "1.5",
        "-0.0",
        "1e16",
        "1E+308",
        "1e-400",
        "9" * MAX_INT_DIGITS,
        "-" + "9" * MAX_INT_DIGITS,
        "0." + "0" * 400 + "1",
        '"a"',
        '"zo\\u00eb \\ud83d\\ude00"',
        '"' + "5" * (MAX_INT_DIGITS + 5) + '"',  # a long run of digits in a string: the careful lane, same answer
        '"zoë 😀"',
        "true",
        "false",
        "null",
    ]
)
ODD_NUMBERS = st.sampled_from(
    [
        "1e309",
        "-1e400",
        "1e-400",
        "NaN",
        "Infinity",
        "-Infinity",
        "9" * MAX_INT_DIGITS,
        "-" + "9" * MAX_INT_DIGITS,
        "1" + "0" * MAX_INT_DIGITS,
        "-" + "1" + "0" * MAX_INT_DIGITS,
        "9" * 400,
        "1" + "0" * 400 + ".5",
        "0." + "0" * 400 + "1",
    ]
)
STRINGS = st.sampled_from(
    [
        '"a"',
        '"zo\\u00eb \\ud83d\\ude00"',
        '"\\u0000"',
        '"x\\ud800"',
        '"\\udfff"',
        '"' + "5" * (MAX_INT_DIGITS + 5) + '"',  # a long run of digits in a string: the careful lane, same answer
        '"zoë 😀"',
    ]
)
SCALARS = st.one_of(
    GOOD, GOOD, GOOD, GOOD, ODD_NUMBERS, STRINGS
)  # mostly good: a document whose one problem is its depth


def _containers(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    keys = st.one_of(STRINGS, st.sampled_from(['"k"', '"events"', '"id"']))
    return st.one_of(
        st.lists(children, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(st.tuples(keys, children), max_size=4).map(
            lambda pairs: "{" + ",".join(f"{key}:{value}" for key, value in pairs) + "}"
        ),
    )


DOCUMENTS = st.recursive(SCALARS, _containers, max_leaves=25)


@SETTINGS
@given(DOCUMENTS, st.sampled_from(["utf-8", "utf-16", "utf-32", "str"]), st.sampled_from([MAX_DEPTH, 3, 2, 1]))
def test_generated_documents_get_the_reference_answer(text, encoding, max_depth):
    same(text if encoding == "str" else text.encode(encoding, "surrogatepass"), max_depth)


@pytest.mark.parametrize("digits", [MAX_INT_DIGITS - 1, MAX_INT_DIGITS, MAX_INT_DIGITS + 1, 4301, 5000])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32-le", "str"])
def test_integers_at_the_digit_limit(digits, encoding):
    text = '{"events": [{"score": -' + "9" * digits + "}]}"
    loaded = same(text if encoding == "str" else text.encode(encoding))
    assert loaded[0] == ("value" if digits <= MAX_INT_DIGITS else "error")


def test_the_long_int_check_sees_only_digit_runs():
    assert not json_input._may_hold_long_int(b'{"a": ' + b"9" * MAX_INT_DIGITS + b"}")
    assert json_input._may_hold_long_int(b'{"a": ' + b"9" * (MAX_INT_DIGITS + 1) + b"}")
    assert json_input._may_hold_long_int('{"a": ' + "9" * (MAX_INT_DIGITS + 1) + "}")
    assert not json_input._may_hold_long_int(("1" * 200 + "٣" + "1" * 200).encode())  # an Arabic digit breaks it
    assert json_input._may_hold_long_int('{"a": 1}'.encode("utf-16"))  # NUL bytes: the careful lane


@pytest.mark.parametrize(
    "text",
    [
        '{"events": [' + ",".join(['{"a": 1, "b": "x", "c": 1.5}'] * 50) + ', {"a": 1e400}]}',
        '{"events": [' + ",".join(['{"a": 1}'] * 50) + ', {"a": NaN}]}',
        '{"events": [' + ",".join(['{"a": 1}'] * 50) + ', {"a": ' + "9" * 301 + "}]}",
        '{"events": [' + ",".join(['{"a": "x"}'] * 50) + ', {"a": "\\ud800"}]}',
        '{"events": [' + ",".join(['{"a": "x"}'] * 50) + ', {"\\u0000": 1}]}',
        '{"events": [[1, 2.5, "x"], {"a": [[[]]]}, ' + "[" * 30 + "]" * 30 + "]}",
        '{"events": [[1, 2.5, "x"], {"a": [[[]]]}, ' + "[" * 29 + "]" * 29 + "]}",
        '{"events": [[1, {"a": [2, {"b": -1e999}]}]]}',
        '"x\\ud800"',
        "1e400",
        "[]",
        "{}",
    ],
)
def test_a_bad_value_among_many_good_ones(text):
    same(text)
    same(text.encode())


def test_deep_mixed_levels_hit_the_depth_limit_exactly():
    for depth in (MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2):
        openers = ['{"a": ' if level % 2 else "[" for level in range(depth)]  # depth containers, alternating
        text = "".join(openers) + "1" + "".join("}" if opener != "[" else "]" for opener in reversed(openers))
        assert same(text)[0] == ("value" if depth <= MAX_DEPTH else "error"), depth
        assert json_input._acceptable(json.loads(text), MAX_DEPTH, False) is (depth <= MAX_DEPTH)
