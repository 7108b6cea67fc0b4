"""Loading CISA's KEV catalogue and FIRST's EPSS scores, and scoring findings against them.

Both loads are set-based: the file is COPYed into a temporary table, the enrichment table is replaced
from it, and findings are updated with a few statements whatever their number. A finding's SLA due
date depends on KEV (see ``findings.sla.sla_due``), so the findings whose KEV data changes get their
due date recomputed by that one function, from the same SLA clock start the import uses.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import connection, transaction

from findings.enrichment_files import EpssRecord, KevRecord, parse_epss, parse_kev
from findings.errors import EnrichmentFileInvalid
from findings.fetch import FetchPolicy, fetch_to_file
from findings.sla import SlaPolicy, is_sensitive, sla_due
from hygiene.services.audit import audit_event

COPY_BATCH = 50_000
# The real EPSS file has about 300,000 rows; a file far beyond that is refused, not loaded.
EPSS_MAX_ROWS = 3_000_000
ENRICHMENT_MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class EnrichmentResult:
    entries: int
    findings_updated: int


def _copy_rows(cursor: Any, table: str, columns: str, rows: Iterable[tuple[Any, ...]]) -> int:
    """COPY ``rows`` into ``table`` in batches; return how many."""
    total = 0
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(["\\N" if value is None else value for value in row])
        total += 1
        if total % COPY_BATCH == 0:
            _flush(cursor, table, columns, buffer)
            buffer = io.StringIO()
            writer = csv.writer(buffer)
    _flush(cursor, table, columns, buffer)
    return total


def _flush(cursor: Any, table: str, columns: str, buffer: io.StringIO) -> None:
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)


@transaction.atomic
def kev_load(*, stream: BinaryIO, origin: str = "") -> EnrichmentResult:
    """Replace the KEV catalogue with ``stream``'s and re-score the findings whose KEV data changes."""
    records = parse_kev(stream)
    with connection.cursor() as cursor:
        # Dropped first too: inside an outer transaction (a test, a caller's atomic) commit comes later.
        cursor.execute("DROP TABLE IF EXISTS pg_temp.kev_staging")
        cursor.execute(
            "CREATE TEMP TABLE kev_staging (cve_id text, vendor text, product text, name text,"
            " date_added date, due_date date, known_ransomware boolean) ON COMMIT DROP"
        )
        columns = "cve_id, vendor, product, name, date_added, due_date, known_ransomware"
        _copy_rows(cursor, "kev_staging", columns, (_kev_row(record) for record in records))
        cursor.execute(
            "DELETE FROM findings_keventry k WHERE NOT EXISTS"
            " (SELECT 1 FROM kev_staging s WHERE s.cve_id = k.cve_id)"
        )
        cursor.execute(
            "INSERT INTO findings_keventry (cve_id, vendor, product, name, date_added, due_date,"
            " known_ransomware) SELECT DISTINCT ON (cve_id) cve_id, vendor, product, name, date_added,"
            " due_date, known_ransomware FROM kev_staging ORDER BY cve_id, date_added DESC"
            " ON CONFLICT (cve_id) DO UPDATE SET vendor = EXCLUDED.vendor, product = EXCLUDED.product,"
            " name = EXCLUDED.name, date_added = EXCLUDED.date_added, due_date = EXCLUDED.due_date,"
            " known_ransomware = EXCLUDED.known_ransomware"
        )
    updated = kev_apply_to_findings()
    audit_event(
        action="enrichment_load",
        object_type="findings_keventry",
        actor_label="operator",
        detail={"entries": len(records), "findings_updated": updated, "origin": origin[:500]},
    )
    return EnrichmentResult(entries=len(records), findings_updated=updated)


def _kev_row(record: KevRecord) -> tuple[Any, ...]:
    return (
        record.cve_id,
        record.vendor,
        record.product,
        record.name,
        record.date_added.isoformat(),
        record.due_date.isoformat() if record.due_date else None,
        "t" if record.known_ransomware else "f",
    )


# Findings whose stored KEV flag or due date disagrees with the catalogue, with what the SLA needs. The
# SLA clock starts when the finding was first seen or, if a scan brought it back after it had gone,
# at the latest such return: the same start the import gave it (``ingest._REOPEN``).
_KEV_CHANGED = """
WITH changed AS (
    SELECT f.id, f.severity, f.first_seen, f.asset_id, k.due_date, true AS in_kev
      FROM findings_finding f
      JOIN findings_keventry k ON k.cve_id = f.rule_id
     WHERE NOT f.kev OR f.kev_due IS DISTINCT FROM k.due_date
    UNION ALL
    SELECT f.id, f.severity, f.first_seen, f.asset_id, NULL, false
      FROM findings_finding f
     WHERE f.kev AND NOT EXISTS (SELECT 1 FROM findings_keventry k WHERE k.cve_id = f.rule_id)
)
SELECT c.id, c.severity,
       COALESCE((SELECT max(s.occurred_at) FROM findings_findingsighting s
                  WHERE s.finding_id = c.id AND s.outcome = 'reopened'), c.first_seen),
       a.environment, a.is_restricted, c.due_date, c.in_kev
  FROM changed c
  JOIN assets_asset a ON a.id = c.asset_id
"""


def kev_apply_to_findings() -> int:
    """Set kev, kev_due and the SLA due date of every finding the catalogue now says otherwise about."""
    policy = SlaPolicy.from_settings()
    with connection.cursor() as cursor:
        cursor.execute(_KEV_CHANGED)
        rows = cursor.fetchall()
        values = [
            (
                finding_id,
                in_kev,
                kev_due,
                sla_due(
                    severity=severity,
                    found_on=clock_start.astimezone(dt.UTC).date(),  # as the import computes it
                    sensitive=is_sensitive(environment=environment, is_restricted=restricted),
                    kev=in_kev,
                    kev_due=kev_due,
                    policy=policy,
                ),
            )
            for finding_id, severity, clock_start, environment, restricted, kev_due, in_kev in rows
        ]
        # Through a staging table: one join on the primary key, however many findings change.
        cursor.execute("DROP TABLE IF EXISTS pg_temp.kev_rescored")
        cursor.execute(
            "CREATE TEMP TABLE kev_rescored (id bigint PRIMARY KEY, kev boolean, kev_due date, sla_due date)"
            " ON COMMIT DROP"
        )
        _copy_rows(cursor, "kev_rescored", "id, kev, kev_due, sla_due", (_rescored(v) for v in values))
        cursor.execute("ANALYZE kev_rescored")
        cursor.execute(
            "UPDATE findings_finding f SET kev = r.kev, kev_due = r.kev_due, sla_due = r.sla_due"
            " FROM kev_rescored r WHERE f.id = r.id"
        )
        cursor.execute("DROP TABLE kev_rescored")
    return len(values)


def _rescored(value: tuple[Any, ...]) -> tuple[Any, ...]:
    finding_id, in_kev, kev_due, due = value
    return finding_id, "t" if in_kev else "f", kev_due, due


@transaction.atomic
def epss_load(*, stream: BinaryIO, origin: str = "") -> EnrichmentResult:
    """Replace the EPSS scores with ``stream``'s and copy them onto the findings of those CVEs."""
    epss = parse_epss(stream)
    scored_on = epss.scored_on.isoformat() if epss.scored_on else None
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pg_temp.epss_staging")
        cursor.execute(
            "CREATE TEMP TABLE epss_staging (cve_id text, score float8, percentile float8) ON COMMIT DROP"
        )
        count = _copy_rows(cursor, "epss_staging", "cve_id, score, percentile", _epss_rows(epss.records))
        cursor.execute("TRUNCATE findings_epssscore")
        cursor.execute(
            "INSERT INTO findings_epssscore (cve_id, score, percentile, scored_on)"
            " SELECT DISTINCT ON (cve_id) cve_id, score, percentile, %s FROM epss_staging ORDER BY cve_id",
            [scored_on],
        )
        cursor.execute("ANALYZE findings_epssscore")
    updated = epss_apply_to_findings()
    audit_event(
        action="enrichment_load",
        object_type="findings_epssscore",
        actor_label="operator",
        detail={
            "entries": count,
            "findings_updated": updated,
            "scored_on": scored_on,
            "origin": origin[:500],
        },
    )
    return EnrichmentResult(entries=count, findings_updated=updated)


def _epss_rows(records: Iterator[EpssRecord]) -> Iterator[tuple[Any, ...]]:
    for number, record in enumerate(records, start=1):
        if number > EPSS_MAX_ROWS:
            raise EnrichmentFileInvalid(f"EPSS scores CSV: more than {EPSS_MAX_ROWS:,} rows; refused.")
        yield record.cve_id, repr(record.score), repr(record.percentile)


def epss_apply_to_findings() -> int:
    """Copy scores onto findings whose score changed; clear those no longer scored."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE findings_finding f SET epss = e.score, epss_percentile = e.percentile"
            " FROM findings_epssscore e WHERE e.cve_id = f.rule_id"
            " AND (f.epss IS DISTINCT FROM e.score OR f.epss_percentile IS DISTINCT FROM e.percentile)"
        )
        updated = cursor.rowcount
        cursor.execute(
            "UPDATE findings_finding f SET epss = NULL, epss_percentile = NULL WHERE f.epss IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM findings_epssscore e WHERE e.cve_id = f.rule_id)"
        )
        return int(updated + cursor.rowcount)


def enrichment_pull(*, kind: str) -> EnrichmentResult | None:
    """Download the configured KEV or EPSS URL (through the safe fetcher) and load it; None if unset."""
    url = settings.HYGIENE_KEV_URL if kind == "kev" else settings.HYGIENE_EPSS_URL
    if not url:
        return None
    policy = FetchPolicy.from_settings(max_bytes=ENRICHMENT_MAX_BYTES)
    with tempfile.TemporaryFile() as spool:
        fetch_to_file(url, spool, policy=policy)
        spool.seek(0)
        loader = kev_load if kind == "kev" else epss_load
        return loader(stream=spool, origin=url)


def enrichment_load_path(*, kind: str, path: Path) -> EnrichmentResult:
    """Load a KEV or EPSS file from disk (operators' commands)."""
    with path.open("rb") as stream:
        if kind == "kev":
            return kev_load(stream=stream, origin=str(path))
        return epss_load(stream=stream, origin=str(path))
