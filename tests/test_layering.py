"""The import direction stays true: api -> services <- worker; services -> analytics, models; analytics pure."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = {"analytics", "api", "models", "services", "worker"}
ENTRY_POINTS = {"worker/main.py"}  # builds the app to hand Celery its configured instance
# What each layer may import from the project, and which third-party packages are off limits.
ALLOWED = {
    "analytics": set(),
    "models": set(),
    "services": {"analytics", "models"},
    "api": {"analytics", "models", "services"},
    "worker": {"analytics", "models", "services"},
}
FORBIDDEN_THIRD_PARTY = {
    "analytics": {"flask", "sqlalchemy", "redis", "celery", "flask_sqlalchemy", "flask_sock", "kombu", "psycopg"},
    "models": {"flask_sock", "redis", "celery", "numpy"},
    "services": {"flask_sock", "simple_websocket", "werkzeug"},
}


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every module this file imports, wherever the import statement is."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def layer_files() -> list[tuple[str, Path]]:
    return [
        (package, path)
        for package in sorted(ALLOWED)
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.relative_to(ROOT).as_posix() not in ENTRY_POINTS
    ]


@pytest.mark.parametrize(("package", "path"), layer_files(), ids=lambda v: str(v).rsplit("/", 2)[-1])
def test_module_imports_follow_the_layering(package: str, path: Path) -> None:
    roots = imported_roots(path)
    wrong_layer = (roots & PROJECT_PACKAGES) - ALLOWED[package] - {package}
    wrong_library = roots & FORBIDDEN_THIRD_PARTY.get(package, set())
    assert not wrong_layer, f"{path.relative_to(ROOT)} imports {sorted(wrong_layer)} ({package} may not)"
    assert not wrong_library, f"{path.relative_to(ROOT)} imports {sorted(wrong_library)} ({package} may not)"


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """Guard against a checker that passes everything: a planted bad import is found, even inside a function."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from worker.tasks import evaluate_learners\n    import flask\n")
    assert {"worker", "flask"} <= imported_roots(bad)
