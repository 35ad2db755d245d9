"""Modules and functions stay small: no module over 300 lines, no function over 50 (migrations and tests aside)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXCLUDED_DIRS = {"migrations", "tests"}
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 50


def source_files() -> list[Path]:
    """Every project .py file outside tests, migrations and hidden folders (the virtualenv, git)."""
    files = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0] in EXCLUDED_DIRS or any(part.startswith(".") for part in parts):
            continue
        files.append(path)
    return files


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int, int]]:
    """(name, first line, length) of every function or method in the source longer than the limit."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit:
                found.append((node.name, node.lineno, length))
    return found


def test_no_module_is_over_300_lines() -> None:
    too_long = {
        path.relative_to(ROOT).as_posix(): count
        for path in source_files()
        if (count := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines: {too_long}"


def test_no_function_is_over_50_lines() -> None:
    too_long = [
        f"{path.relative_to(ROOT).as_posix()}:{line} {name} ({length} lines)"
        for path in source_files()
        for name, line, length in long_functions(path.read_text())
    ]
    assert not too_long, f"functions over {MAX_FUNCTION_LINES} lines: {too_long}"


def test_the_checker_sees_a_long_function() -> None:
    """Guard against a checker that passes everything: a planted long method inside a class is found."""
    body = "".join(f"        x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    source = f"class C:\n    async def long(self):\n{body}\n    def short(self):\n        return 1\n"
    assert long_functions(source) == [("long", 2, MAX_FUNCTION_LINES + 1)]
    assert len(source_files()) > 50
    assert not {p.relative_to(ROOT).parts[0] for p in source_files()} & EXCLUDED_DIRS
