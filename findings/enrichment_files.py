"""Readers for the enrichment files: CISA's KEV catalogue (JSON) and FIRST's EPSS scores (CSV).

Pure parsers: bytes in, records out, no database. Every problem becomes ``EnrichmentFileInvalid``
with a message that names the file kind, what is wrong and where.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import orjson

from findings.errors import EnrichmentFileInvalid

CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,}$")
GZIP_MAGIC = b"\x1f\x8b"
# The real catalogue is about 1.5 MB; anything far above it is not the catalogue.
KEV_MAX_BYTES = 64 * 1024 * 1024
# The full EPSS file inflates to about 10 MB of lines of some 30 characters; a file far above either
# is not the EPSS file, and reading it on would hold a worker for minutes (one enormous line).
EPSS_MAX_BYTES = 256 * 1024 * 1024
EPSS_MAX_LINE = 1024
KEV_LABEL = "CISA KEV catalogue"
EPSS_LABEL = "EPSS scores CSV"


@dataclass(frozen=True, slots=True)
class KevRecord:
    cve_id: str
    vendor: str
    product: str
    name: str
    date_added: dt.date
    due_date: dt.date | None
    known_ransomware: bool


@dataclass(frozen=True, slots=True)
class EpssRecord:
    cve_id: str
    score: float
    percentile: float


@dataclass(frozen=True, slots=True)
class EpssFile:
    scored_on: dt.date | None
    model_version: str
    records: Iterator[EpssRecord]


def _text(entry: dict[str, object], key: str, limit: int) -> str:
    value = entry.get(key)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _date(value: object, *, what: str, where: str, required: bool) -> dt.date | None:
    if value in (None, "") and not required:
        return None
    if not isinstance(value, str):
        raise EnrichmentFileInvalid(f"{KEV_LABEL}: {where}: {what} is missing or not a date.")
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise EnrichmentFileInvalid(
            f"{KEV_LABEL}: {where}: {what} {value[:40]!r} is not a date (expected YYYY-MM-DD)."
        ) from None


def parse_kev(stream: BinaryIO) -> list[KevRecord]:
    """The catalogue's entries; refuses a document that is not the KEV catalogue."""
    data = stream.read(KEV_MAX_BYTES + 1)
    if len(data) > KEV_MAX_BYTES:
        raise EnrichmentFileInvalid(f"{KEV_LABEL}: the file is larger than {KEV_MAX_BYTES // 2**20} MiB.")
    if data.startswith(GZIP_MAGIC):
        data = _gunzip(data, KEV_LABEL, KEV_MAX_BYTES)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise EnrichmentFileInvalid(f"{KEV_LABEL}: not valid JSON ({exc}).") from None
    entries = document.get("vulnerabilities") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise EnrichmentFileInvalid(
            f"{KEV_LABEL}: no “vulnerabilities” list at the top level; is this the KEV JSON feed?"
        )
    return [_kev_record(entry, index) for index, entry in enumerate(entries)]


def _kev_record(entry: object, index: int) -> KevRecord:
    where = f"vulnerabilities[{index}]"
    if not isinstance(entry, dict):
        raise EnrichmentFileInvalid(f"{KEV_LABEL}: {where} is not an object.")
    cve_id = _text(entry, "cveID", 32).upper()
    if not CVE_ID.match(cve_id):
        raise EnrichmentFileInvalid(f"{KEV_LABEL}: {where}: cveID {cve_id[:32]!r} is not a CVE id.")
    added = _date(entry.get("dateAdded"), what="dateAdded", where=where, required=True)
    assert added is not None
    return KevRecord(
        cve_id=cve_id,
        vendor=_text(entry, "vendorProject", 200),
        product=_text(entry, "product", 200),
        name=_text(entry, "vulnerabilityName", 500),
        date_added=added,
        due_date=_date(entry.get("dueDate"), what="dueDate", where=where, required=False),
        known_ransomware=_text(entry, "knownRansomwareCampaignUse", 20).lower() == "known",
    )


def _gunzip(data: bytes, label: str, limit: int) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as unzipped:
            inflated = unzipped.read(limit + 1)
    except (OSError, EOFError) as exc:
        raise EnrichmentFileInvalid(f"{label}: the gzip data is damaged ({exc}).") from None
    if len(inflated) > limit:
        raise EnrichmentFileInvalid(f"{label}: the file inflates to more than {limit // 2**20} MiB.")
    return inflated


def parse_epss(stream: BinaryIO) -> EpssFile:
    """The scores of an EPSS CSV (plain or gzipped), with the date and model of its comment line.

    Inflated size and line length are capped as the KEV file's size is: a small gzip of one enormous
    line is refused within a few kilobytes, not read for minutes.
    """
    head = stream.read(2)
    raw: Any = _Prefixed(head, stream)
    if head == GZIP_MAGIC:
        raw = gzip.GzipFile(fileobj=raw)
    lines = _bounded_lines(io.BufferedReader(_Capped(raw, EPSS_MAX_BYTES)))
    try:
        first = next(lines, "")
        model_version, scored_on = "", None
        header_line = first
        if first.startswith("#"):
            model_version, scored_on = _epss_comment(first)
            header_line = next(lines, "")
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise EnrichmentFileInvalid(f"{EPSS_LABEL}: unreadable first line ({exc}).") from None
    header = [column.strip().lower() for column in header_line.strip().split(",")]
    if header[:3] != ["cve", "epss", "percentile"]:
        raise EnrichmentFileInvalid(
            f"{EPSS_LABEL}: expected the columns cve,epss,percentile, found {header_line.strip()[:80]!r}."
        )
    return EpssFile(scored_on=scored_on, model_version=model_version, records=_epss_rows(lines))


def _bounded_lines(reader: io.BufferedReader) -> Iterator[str]:
    """The stream's lines as text, refusing any longer than ``EPSS_MAX_LINE`` bytes."""
    number = 0
    while line := reader.readline(EPSS_MAX_LINE + 1):
        number += 1
        if len(line) > EPSS_MAX_LINE and not line.endswith(b"\n"):
            raise EnrichmentFileInvalid(
                f"{EPSS_LABEL}: line {number} is longer than {EPSS_MAX_LINE} bytes; is this the EPSS file?"
            )
        yield line.decode("utf-8")


def _epss_comment(line: str) -> tuple[str, dt.date | None]:
    fields = dict(part.split(":", 1) for part in line.lstrip("#").strip().split(",") if ":" in part)
    scored_on = None
    if fields.get("score_date"):
        try:
            scored_on = dt.date.fromisoformat(fields["score_date"][:10])
        except ValueError:
            raise EnrichmentFileInvalid(
                f"{EPSS_LABEL}: score_date {fields['score_date'][:40]!r} in the first line is not a date."
            ) from None
    return fields.get("model_version", "")[:40], scored_on


def _epss_rows(text: Iterator[str]) -> Iterator[EpssRecord]:
    line_number = 2
    try:
        for line_number, row in enumerate(csv.reader(text), start=3):
            if not row:
                continue
            yield _epss_record(row, line_number)
    except (UnicodeDecodeError, OSError, EOFError, csv.Error) as exc:
        raise EnrichmentFileInvalid(f"{EPSS_LABEL}: unreadable after line {line_number} ({exc}).") from None


def _epss_record(row: list[str], line_number: int) -> EpssRecord:
    if len(row) < 3:
        raise EnrichmentFileInvalid(f"{EPSS_LABEL}: line {line_number} has {len(row)} columns, expected 3.")
    cve_id = row[0].strip().upper()
    if not CVE_ID.match(cve_id):
        raise EnrichmentFileInvalid(f"{EPSS_LABEL}: line {line_number}: {row[0][:32]!r} is not a CVE id.")
    try:
        score, percentile = float(row[1]), float(row[2])
    except ValueError:
        raise EnrichmentFileInvalid(
            f"{EPSS_LABEL}: line {line_number}: epss and percentile must be numbers."
        ) from None
    if not (0.0 <= score <= 1.0 and 0.0 <= percentile <= 1.0):
        raise EnrichmentFileInvalid(
            f"{EPSS_LABEL}: line {line_number}: epss and percentile must lie between 0 and 1."
        )
    return EpssRecord(cve_id=cve_id, score=score, percentile=percentile)


class _Capped(io.RawIOBase):
    """Reads ``stream`` until more than ``limit`` bytes came out of it (inflated, for a gzip)."""

    def __init__(self, stream: Any, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer))
        self._read += len(data)
        if self._read > self._limit:
            raise EnrichmentFileInvalid(
                f"{EPSS_LABEL}: the file inflates to more than {self._limit // 2**20} MiB."
            )
        buffer[: len(data)] = data
        return len(data)


class _Prefixed(io.RawIOBase):
    """A stream that yields ``prefix`` and then the rest of ``stream`` (to sniff without seeking)."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = prefix
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._prefix:
            size = min(len(buffer), len(self._prefix))
            buffer[:size] = self._prefix[:size]
            self._prefix = self._prefix[size:]
            return size
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
