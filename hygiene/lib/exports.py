"""Streaming CSV and JSON for exports of any size.

Rows arrive as an iterator (a server-side cursor) and leave in chunks of a few hundred rows, so an export
of a million rows never holds more than one chunk in memory. Text cells are neutralised against formula
injection; dict and list cells (the audit log's before/after) are written as JSON, never as Python reprs.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 500


class Echo:
    """A file-like object whose write returns the line, for csv.writer inside a streaming response."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value: Any) -> Any:
    """Neutralize spreadsheet formulas in untrusted text (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_cell(value: Any) -> Any:
    """One CSV cell: text neutralised, structures as JSON, empty for None."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_PREFIXES) else value
    if isinstance(value, dict | list | tuple):
        return safe_cell(json.dumps(value, default=str, ensure_ascii=False, sort_keys=True))
    return value


def csv_rows(writer: Any, header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def _chunks(rows: Iterable[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def stream_csv(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, chunk_rows: int = CHUNK_ROWS
) -> Iterator[str]:
    """CSV text of ``rows`` under a header of ``columns``, a chunk of rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for chunk in _chunks(rows, chunk_rows):
        writer.writerows([csv_cell(value) for value in row] for row in chunk)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def stream_json(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, chunk_rows: int = CHUNK_ROWS
) -> Iterator[str]:
    """A JSON array of one object per row (keys: ``columns``), a chunk of rows at a time."""
    encoder = json.JSONEncoder(default=json_default, ensure_ascii=False)
    first = True
    yield "["
    for chunk in _chunks(rows, chunk_rows):
        text = ",\n".join(encoder.encode(dict(zip(columns, row, strict=True))) for row in chunk)
        yield ("\n" if first else ",\n") + text
        first = False
    yield "\n]\n"
