"""CSV out: one table per list, the same field names as the JSON, safe to open in a spreadsheet.

The header row is the JSON field names (camelCase), in the order the JSON has them (or the
order ``fields=`` lists them). Each cell is the JSON value: text as it is, numbers and booleans
(``true``/``false``) as JSON writes them, null as an empty cell, and nested values (lists and
objects) as compact JSON in one cell, the convention bulk submissions read
(service/submissions/formats.py), so an export can be edited and submitted back.

Formula injection (OWASP "CSV Injection"): a text cell that begins with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is prefixed with a single quote, so a spreadsheet shows it as
text instead of running it. Numbers are written as numbers and never prefixed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 500


def cell(value: Any) -> str:
    """One JSON value as a CSV cell (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def header_of(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> list[str]:
    """The header: ``columns`` when given, else every key in the order rows first show it."""
    if columns is not None:
        return list(columns)
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def encode(rows: Iterable[dict[str, Any]], header: Sequence[str]) -> Iterator[bytes]:
    """The CSV (header first), in chunks of :data:`ROWS_PER_CHUNK` rows, UTF-8, CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for count, row in enumerate(rows, 1):
        writer.writerow([cell(row.get(name)) for name in header])
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
