"""Path and query-string values checked before any view runs, so none can break a database query.

- `<int:...>` path ids must fit a BIGINT column: a longer number is no id of ours (404), not an overflow.
- `<...>` string path segments and query parameters must not hold NUL, which PostgreSQL text refuses.
  (Werkzeug decodes invalid UTF-8, lone surrogates included, to U+FFFD, so NUL is the one left.)
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.routing import IntegerConverter, Map, UnicodeConverter

from api.errors import ApiError, field_error

MAX_ID = 2**63 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` bounded to what a BIGINT primary key can hold. The bound is in the regex too: a value the
    regex takes but to_python refuses would answer 405 (werkzeug counts the other methods of the path)."""

    regex = r"\d{1,19}"

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID) -> None:  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max)


class TextConverter(UnicodeConverter):
    """The default `<...>` segment, without NUL characters (so a NUL path is a 404)."""

    def __init__(self, map: Map, minlength: int = 1, maxlength: int | None = None, length: int | None = None) -> None:
        super().__init__(map, minlength=minlength, maxlength=maxlength, length=length)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]")


def refuse_nul_query_args() -> None:
    """400 naming the first query parameter holding NUL (in its name or value)."""
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            label = name.replace("\x00", "\\0")
            raise ApiError(
                400,
                f"query parameter {label} holds a NUL character",
                details=[field_error(label, "must not contain NUL characters")],
            )


def register_url_guards(app: Flask) -> None:
    """Install the converters (before any blueprint adds its rules) and the query-string check."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["default"] = TextConverter
    app.url_map.converters["string"] = TextConverter
    app.before_request(refuse_nul_query_args)
