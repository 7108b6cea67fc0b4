"""Streaming CSV and JSON for exports of any size.

A queryset's rows are written by PostgreSQL itself (COPY) and leave as the blocks it sends; rows from Python
(the bundle's records) leave in chunks of a few hundred: an export of a million rows never holds more than
a block or a chunk in memory. Text cells are neutralised against formula
injection; dict and list cells (the audit log's before/after) are written as JSON, never as Python reprs.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import decimal
import fcntl
import io
import json
import os
import threading
import uuid
from collections.abc import Generator, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from django.core.exceptions import EmptyResultSet

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


# ---- a queryset streamed as CSV or JSON text that PostgreSQL writes ----------------------------------
#
# Python formatting a million rows cell by cell is the bottleneck of a large export, so the database
# writes each row's CSV line or JSON object itself from the selector's own queryset (the same SQL, the same
# permission filter) with COPY, and Python only passes its output on in large blocks.

TEXT_TYPES = frozenset({"CharField", "TextField", "SlugField", "EmailField", "URLField", "FilePathField"})
TIME_TYPES = frozenset({"DateTimeField", "DateField", "TimeField"})
STRUCTURED_TYPES = frozenset({"JSONField", "ArrayField"})
# The code points of FORMULA_PREFIXES: comparing ascii(cell), an integer, with them costs a fifth less of
# the whole COPY than comparing left(cell, 1), a new text value per cell, with the characters.
_FORMULA_CODES = ", ".join(str(ord(prefix)) for prefix in FORMULA_PREFIXES)


def _column_kind(field: Any) -> str:
    name = type(field).__name__
    if name == "GeneratedField":
        return _column_kind(field.output_field)
    if name in STRUCTURED_TYPES:
        return "structured"
    if name in TIME_TYPES:
        return "time"
    if name == "BooleanField":
        return "bool"
    if name in TEXT_TYPES or getattr(field, "get_internal_type", lambda: "")() in TEXT_TYPES:
        return "text"
    return "plain"


def _neutralised(text: str) -> str:
    return f"(CASE WHEN ascii({text}) IN ({_FORMULA_CODES}) THEN '''' || {text} ELSE {text} END)"


def _csv_expr(column: str, kind: str) -> str:
    """The column as COPY should write it: text neutralised, structures as JSON, booleans as words."""
    if kind == "text":
        return _neutralised(column)
    if kind == "structured":
        return _neutralised(f"to_jsonb({column})::text")
    if kind == "bool":
        return f"{column}::text"
    return column


def _select_sql(queryset: Any, lookups: Sequence[str]) -> tuple[str, list[Any], list[str]]:
    """The queryset's SQL selecting ``lookups`` (aliased c0, c1, ...) and each column's kind."""
    values = queryset.values_list(*lookups)
    compiler = values.query.get_compiler(using=values.db)
    sql, params = compiler.as_sql()
    kinds = [_column_kind(expression.output_field) for expression, _, _ in compiler.select[: len(lookups)]]
    return sql, list(params), kinds


MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1
PIPE_READ = 256 * 1024
PIPE_SIZE = 1024 * 1024  # what Linux lets anyone ask for (pipe-max-size)


def _copy_out(queryset: Any, copy_sql: str, params: list[Any]) -> Generator[bytes]:
    """Run ``COPY (...) TO STDOUT`` on the queryset's connection and yield what it writes, block by block.

    COPY is PostgreSQL's fastest way out; it runs in a helper thread on the same connection (psycopg2
    connections may be shared between threads) and writes its rows, as the bytes the server sent, into an
    OS pipe through a buffered file: each row costs one C-level write, no Python call, no decoding. This
    generator reads the pipe in large blocks; the pipe is bounded, so the database never runs more than a
    pipe's worth ahead of the client, and closing it (the client went away) ends the COPY.
    """
    from django.db import connections

    connection = connections[queryset.db]
    connection.ensure_connection()
    raw = connection.connection
    read_fd, write_fd = os.pipe()
    with contextlib.suppress(OSError, AttributeError):  # Linux: a larger pipe, fewer thread switches
        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    sink = open(write_fd, "wb", buffering=PIPE_READ)  # noqa: SIM115 (closed by the helper thread)
    source = open(read_fd, "rb", buffering=0)  # noqa: SIM115 (closed below)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with raw.cursor() as cursor:
                cursor.copy_expert(cursor.mogrify(copy_sql, params).decode(), sink, size=PIPE_READ)
        except BaseException as exc:  # handed to the consumer, which raises it
            failure.append(exc)
        finally:
            with contextlib.suppress(OSError):
                sink.close()

    worker = threading.Thread(target=run, name="export-copy", daemon=True)
    worker.start()
    finished = False
    try:
        while block := source.read(PIPE_READ):
            yield block
        worker.join()
        finished = True
        if failure:
            raise failure[0]
    finally:
        if not finished:  # the client went away: stop the COPY rather than let it run on
            with contextlib.suppress(Exception):
                raw.cancel()
            source.close()  # the helper's next write fails (broken pipe) if the cancel came too late
            worker.join()
            if failure and not connection.in_atomic_block:
                connection.close()  # a COPY cut short may leave the session mid-protocol: start afresh
        source.close()


def queryset_csv(queryset: Any, columns: Sequence[tuple[str, str]]) -> Iterator[bytes]:
    """CSV of ``queryset`` with a header of each (name, lookup) of ``columns``: text neutralised against
    formulas, JSON and arrays as JSON; written by PostgreSQL's COPY and streamed as it comes."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([name for name, _ in columns])
    yield buffer.getvalue().encode()
    try:
        sql, params, kinds = _select_sql(queryset, [lookup for _, lookup in columns])
    except EmptyResultSet:  # a scope that matches nothing (``none()``): Django compiles no SQL for it
        return
    aliases = [f"c{index}" for index in range(len(columns))]
    select = ", ".join(_csv_expr(alias, kind) for alias, kind in zip(aliases, kinds, strict=True))
    # Only generated aliases and the compiled queryset's own SQL go into the text; values stay parameters.
    copy_sql = (
        f"COPY (SELECT {select} FROM ({sql}) AS export_rows({', '.join(aliases)}))"  # noqa: S608
        " TO STDOUT WITH (FORMAT csv)"
    )
    yield from _copy_out(queryset, copy_sql, params)


def queryset_json(queryset: Any, columns: Sequence[tuple[str, str]]) -> Iterator[bytes]:
    """A JSON array of one object per row of ``queryset`` (keys: the names of ``columns``): objects built
    by PostgreSQL's row_to_json, written by COPY and streamed as it comes, one object a line."""
    keys = ", ".join(json_key(name) for name, _ in columns)
    yield b"[\n"
    try:
        sql, params, _ = _select_sql(queryset, [lookup for _, lookup in columns])
    except EmptyResultSet:
        yield b"]\n"
        return
    # Every object but the first comes after a comma, so each line carries its own. COPY's CSV format
    # writes a value as it is unless it holds the delimiter, the quote or a line break; JSON text escapes
    # every control character, so with \x01 and \x02 as delimiter and quote each object leaves verbatim.
    # row_to_json of the row with the keys as column names: a third faster than json_build_object.
    copy_sql = (
        f"COPY (SELECT ',' || row_to_json(export_rows)::text FROM ({sql}) AS export_rows({keys}))"  # noqa: S608
        " TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')"
    )
    with contextlib.closing(_copy_out(queryset, copy_sql, params)) as blocks:
        for block in blocks:
            yield block[1:]  # the first object's comma
            break
        yield from blocks
    yield b"]\n"


def json_key(name: str) -> str:
    """``name`` as a quoted SQL column alias, which row_to_json writes as the key."""
    if not name or len(name.encode()) > MAX_IDENTIFIER_BYTES:  # PostgreSQL would cut it short silently
        raise ValueError(f"An export column name must be 1 to {MAX_IDENTIFIER_BYTES} bytes: {name!r}")
    # The statement goes through mogrify with parameters, where a bare % would be taken for one.
    return '"' + name.replace('"', '""').replace("%", "%%") + '"'
