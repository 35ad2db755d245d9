"""CSV that opens cleanly in a spreadsheet, streamed a row at a time.

- UTF-8 with a byte order mark, so Excel reads names with accents correctly.
- RFC 4180 quoting and CRLF line ends (the csv module's defaults).
- Formula injection: a text cell starting with =, +, -, @, a tab or a carriage return would be run as a
  formula by a spreadsheet, so it gets a leading single quote (OWASP's advice); the quote shows in the
  cell, the formula never runs. Numbers are written as numbers and left alone.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A value as a spreadsheet should see it: text that could be a formula is neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(item) for item in value)
    elif isinstance(value, dict):
        value = json.dumps(value, sort_keys=True)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The BOM and header, then each row, as encoded-on-the-fly text chunks (one per row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(header)
    yield BOM + take()
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        yield take()


def attachment_name(*parts: str) -> str:
    """A download file name from parts, limited to characters every browser and OS accepts."""
    raw = "-".join(part for part in parts if part)
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in raw)[:150]
