"""Response bodies of the document: each 2xx JSON answer described, so clients (and schemathesis) can check them.

The schemas live in response_schemas.json, keyed "METHOD /path" (the brief's /api/v1/progress/ paths share the
/api/progress/ entries; an entity PUT answers what its GET answers). They were drafted from the live answers of
the demo school for every role and checked by hand; tests/test_api_fuzz.py validates real answers against them.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from api.openapi.kit import ERROR

SCHEMA_FILE = Path(__file__).with_name("response_schemas.json")
METHODS = ("get", "post", "put", "patch", "delete")
BRIEF_ALIAS = ("/api/v1/progress/", "/api/progress/")
FILE_TYPES = {".csv": "text/csv", ".pdf": "application/pdf"}


@lru_cache(maxsize=1)
def response_schemas() -> dict[str, Any]:
    """The described bodies, read once."""
    return json.loads(SCHEMA_FILE.read_text())


def schema_key(method: str, path: str) -> str:
    """The entry that describes one operation's answer."""
    path = path.replace(*BRIEF_ALIAS)
    key = f"{method.upper()} {path}"
    if method == "put" and key not in response_schemas():
        return f"GET {path}"  # upserts answer with the stored object
    return key


def _file_content(path: str) -> dict[str, Any] | None:
    """Downloads are described by their media type."""
    for suffix, media in FILE_TYPES.items():
        if path.endswith(suffix):
            return {media: {"schema": {"type": "string", "format": "binary"}}}
    return None


def _error_codes(op: dict[str, Any]) -> list[str]:
    """What any operation may answer besides its own codes: bad query or body, auth, and rate limits."""
    codes = ["429"] if "security" in op else []
    if op.get("parameters") or op.get("requestBody"):
        codes.append("400")
    if "security" in op:
        codes += ["401", "403", "404"]  # 404: an id that does not exist or is not yours
    if op.get("requestBody"):
        codes += ["413", "415", "422"]
    return codes


def describe_responses(paths: dict[str, Any]) -> dict[str, Any]:
    """Attach the body schema to every 2xx answer and declare the error codes each operation can give."""
    for path, item in paths.items():
        if path.startswith("/ws"):
            continue
        for method, op in item.items():
            if method not in METHODS:
                continue
            described = _file_content(path) or _json_content(schema_key(method, path))
            op["responses"] = {code: dict(response) for code, response in op["responses"].items()}  # tables share them
            for code, response in op["responses"].items():
                if code.startswith("2") and code != "204" and described and "$ref" not in response:
                    response.setdefault("content", described)
            for code in _error_codes(op):
                op["responses"].setdefault(code, ERROR)
    return paths


def _json_content(key: str) -> dict[str, Any] | None:
    schema = response_schemas().get(key)
    return {"application/json": {"schema": schema}} if schema is not None else None
