"""Streaming CSV for exports of any size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class Echo:
    """A file-like object whose write returns the line, for csv.writer inside a streaming response."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value: Any) -> Any:
    """Neutralize spreadsheet formulas in untrusted text (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_rows(writer: Any, header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])
