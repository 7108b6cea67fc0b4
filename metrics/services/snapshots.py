"""Compute the daily snapshots from the data's own history, set-based.

A finding's history is its ``first_seen`` and its sightings (``FindingSighting``: each import that
brought it back or found it gone, each status a person set, with the status after it and the SLA due
date in force). The database keeps its episodes (``FindingEpisode``: each stretch during which the
finding was open) from that history; a run copies the episodes that meet its days, with the columns
they are grouped by, into a temporary table once, and each day is then three aggregate queries over
it: the state at the day's end from the episodes open then, the flows from those opened or closed in
it, each found by index. Assets are counted active from ``created_at`` to ``retired_at``; a scan
counts from its file's scan time once its import has finished.

Computing a day deletes and rewrites its rows in one transaction: running it twice changes nothing,
and a day backfilled later equals the same day computed on the day (findings and assets are grouped by
their team, environment and restriction now, so data moved to another team or made restricted is
counted, and hidden, where it is now).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from findings.checks import CheckType
from findings.selectors import AGE_BANDS
from hygiene.lib.survival import bucket
from metrics.models import CoverageSnapshot, FindingMonth, FindingSnapshot

# The episodes the days being computed can count (still open, or closed since the first day began: the
# episode table's indexes on open episodes and on closing times find them), with the columns of their
# finding and asset the counts group by. The database keeps the episodes from the findings' history
# (``FindingEpisode``).
_EPISODES = """
CREATE TEMP TABLE metrics_episode AS
SELECT f.team_id, a.environment, a.is_restricted AS restricted, f.severity,
       e.opened_at AS started_at, e.closed_at AS ended_at, NULLIF(e.closed_as, '') AS end_status,
       tstzrange(e.opened_at, e.closed_at, '[]') AS span,
       CASE WHEN e.closed_at IS NULL THEN f.sla_due
            ELSE COALESCE(e.closing_sla_due, f.sla_due_at_close, f.sla_due) END AS sla_due,
       f.first_seen, e.is_first,
       COALESCE(f.detected_at, f.first_seen) AS detected_at, f.published_at,
       CASE WHEN f.kev THEN k.date_added END AS kev_added
  FROM findings_findingepisode e
  JOIN findings_finding f ON f.id = e.finding_id
  JOIN assets_asset a ON a.id = f.asset_id
  LEFT JOIN findings_keventry k ON f.kev AND k.cve_id = f.rule_id
 WHERE (e.closed_at IS NULL AND e.opened_at <= %(end)s)
    OR (e.closed_at >= %(start)s AND e.opened_at <= %(end)s)
"""

# A day's state (end of day) counts the episodes open at its end: the GiST index on ``span`` finds them
# (``@>``: opened by then and not closed before; the strict "opened before the end" is checked on them).
# Its flows count the episodes opened or closed during it, found by the btree indexes on their times.
_OPEN = "e.span @> %(end)s::timestamptz AND e.started_at < %(end)s"
_TODAY_START = "e.started_at >= %(start)s AND e.started_at < %(end)s"
_TODAY_END = "e.ended_at >= %(start)s AND e.ended_at < %(end)s"
_FLOW = f"(({_TODAY_START}) OR ({_TODAY_END}))"
_PATCHED = f"e.end_status = 'mitigated' AND {_TODAY_END}"


def _age_sql() -> str:
    """One FILTER count per age band, counted as the findings list counts them (days since first seen)."""
    parts = []
    for label, (low, high) in AGE_BANDS.items():
        condition = f"e.first_seen < %(start)s - interval '{low - 1} days'"
        if high is not None:
            condition += f" AND e.first_seen >= %(start)s - interval '{high} days'"
        parts.append(f"count(*) FILTER (WHERE {condition}) AS {_age_field(label)}")
    return ",\n       ".join(parts)


def _age_field(label: str) -> str:
    return "age_" + label.replace("-", "_").replace("+", "_plus")


AGE_FIELDS = [_age_field(label) for label in AGE_BANDS]

_DAYS = "floor(extract(epoch FROM ({} - {})) / 86400)::int"
# ``hygiene.lib.survival.bucket`` in SQL (``%%``: a parameterized query), so a day's open-age histogram
# leaves the database bucketed.
_BUCKET = (
    "CASE WHEN d <= 30 THEN greatest(d, 0) WHEN d <= 180 THEN d - (d - 31) %% 5"
    " WHEN d < 730 THEN d - (d - 181) %% 30 ELSE 730 END"
)

_STATE = f"""
SELECT team_id, environment, restricted, severity, {_BUCKET} AS bucket,
       count(*) AS open,
       count(*) FILTER (WHERE e.sla_due < %(day)s) AS open_past_sla,
       {_age_sql()}
  FROM (SELECT e.*, {_DAYS.format("%(end)s", "e.started_at")} AS d
          FROM metrics_episode e WHERE {_OPEN}) e
 GROUP BY 1, 2, 3, 4, 5
"""  # noqa: S608 - constants and our own field names only

_FLOWS = f"""
SELECT e.team_id, e.environment, e.restricted, e.severity,
       count(*) FILTER (WHERE e.is_first AND {_TODAY_START}) AS new,
       count(*) FILTER (WHERE NOT e.is_first AND {_TODAY_START}) AS reopened,
       count(*) FILTER (WHERE {_PATCHED}) AS patched,
       count(*) FILTER (WHERE e.end_status <> 'mitigated' AND {_TODAY_END}) AS closed_unpatched,
       count(*) FILTER (WHERE {_PATCHED} AND e.sla_due >= %(day)s) AS patched_in_sla,
       count(*) FILTER (WHERE {_PATCHED} AND e.sla_due < %(day)s) AS patched_late,
       count(*) FILTER (WHERE {_PATCHED} AND e.sla_due IS NULL) AS patched_no_sla,
       count(*) FILTER (WHERE e.is_first AND {_TODAY_START} AND e.published_at IS NULL
                        AND e.kev_added IS NULL) AS detect_unknown
  FROM metrics_episode e
 WHERE {_FLOW}
 GROUP BY 1, 2, 3, 4
"""  # noqa: S608 - constants and our own field names only

# One pass over the day's opened and closed episodes: each yields a duration for each histogram it
# belongs in, NULL for the others.
_HISTOGRAMS = f"""
SELECT e.team_id, e.environment, e.restricted, e.severity, h.kind, h.days, count(*)
  FROM metrics_episode e
 CROSS JOIN LATERAL (VALUES
    ('patch_days', CASE WHEN {_PATCHED} THEN {_DAYS.format("e.ended_at", "e.started_at")} END),
    ('censored_days', CASE WHEN e.end_status <> 'mitigated' AND {_TODAY_END}
                           THEN {_DAYS.format("e.ended_at", "e.started_at")} END),
    ('detect_days', CASE WHEN e.is_first AND {_TODAY_START} AND e.published_at IS NOT NULL
                         THEN {_DAYS.format("e.detected_at", "e.published_at")} END),
    ('kev_detect_days', CASE WHEN e.is_first AND {_TODAY_START} AND e.kev_added IS NOT NULL
                             THEN (e.detected_at AT TIME ZONE %(tz)s)::date - e.kev_added END),
    ('exposure_days', CASE WHEN {_PATCHED} AND e.published_at IS NOT NULL
                           THEN {_DAYS.format("e.ended_at", "e.published_at")} END)
 ) AS h(kind, days)
 WHERE {_FLOW} AND h.days IS NOT NULL
 GROUP BY 1, 2, 3, 4, 5, 6
"""  # noqa: S608 - constants and our own field names only

# Coverage: active assets at the end of the day, and which of them a finished import scanned (by its
# file's scan time) within 7 and 30 days, per check type.
_ACTIVE = "a.created_at < %(end)s AND (a.retired_at IS NULL OR a.retired_at >= %(end)s)"
_SCANS = """
SELECT j.asset_id, unnest(j.check_types) AS check_type, max(j.scanned_at) AS last_scan
  FROM findings_importjob j
 WHERE j.status = 'done' AND j.finished_at < %(end)s AND j.asset_id IS NOT NULL
   AND j.scanned_at >= %(end)s - interval '30 days' AND j.scanned_at < %(end)s
 GROUP BY 1, 2
"""
_COVERAGE = f"""
WITH scans AS ({_SCANS}),
violations AS (
    SELECT v.asset_id, count(*) AS n FROM assets_policyviolation v
     WHERE v.detected_at < %(end)s AND (v.resolved_at IS NULL OR v.resolved_at >= %(end)s)
     GROUP BY 1
),
per_asset AS (
    SELECT a.id, a.team_id, a.environment, a.is_restricted AS restricted, a.kind,
           a.classification_id IS NOT NULL AS classified,
           max(s.last_scan) AS last_scan, COALESCE(max(v.n), 0) AS violations
      FROM assets_asset a
      LEFT JOIN scans s ON s.asset_id = a.id
      LEFT JOIN violations v ON v.asset_id = a.id
     WHERE {_ACTIVE}
     GROUP BY a.id
)
SELECT team_id, environment, restricted, kind, count(*),
       count(*) FILTER (WHERE classified),
       count(*) FILTER (WHERE last_scan >= %(end)s - interval '7 days'),
       count(*) FILTER (WHERE last_scan IS NOT NULL),
       sum(violations)
  FROM per_asset GROUP BY 1, 2, 3, 4
"""  # noqa: S608 - constants and our own field names only
_COVERAGE_CHECKS = f"""
WITH scans AS ({_SCANS})
SELECT a.team_id, a.environment, a.is_restricted, a.kind, s.check_type,
       count(*) FILTER (WHERE s.last_scan >= %(end)s - interval '7 days'), count(*)
  FROM scans s JOIN assets_asset a ON a.id = s.asset_id
 WHERE {_ACTIVE}
 GROUP BY 1, 2, 3, 4, 5
"""  # noqa: S608 - constants and our own field names only

Group = tuple[int, str, bool, str]


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The start and end of ``day`` in the configured time zone."""
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)


@contextmanager
def _episodes(first: dt.date, last: dt.date) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS metrics_episode")
        cursor.execute(_EPISODES, {"start": day_bounds(first)[0], "end": day_bounds(last)[1]})
        cursor.execute("CREATE INDEX metrics_episode_span ON metrics_episode USING gist (span)")
        cursor.execute("CREATE INDEX metrics_episode_started ON metrics_episode (started_at)")
        cursor.execute("CREATE INDEX metrics_episode_ended ON metrics_episode (ended_at)")
        cursor.execute("ANALYZE metrics_episode")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS metrics_episode")


def snapshot_compute_days(*, days: list[dt.date]) -> int:
    """Compute (or recompute) the snapshots of ``days``; return how many rows were written."""
    if not days:
        return 0
    written = 0
    with _episodes(min(days), max(days)):
        for day in sorted(set(days)):
            written += _compute_day(day)
    for month in sorted({day.replace(day=1) for day in days}):
        _rollup_month(month)
    return written


def snapshot_compute_day(*, day: dt.date) -> int:
    """Compute (or recompute) one day's snapshots from the data's history."""
    return snapshot_compute_days(days=[day])


def snapshot_backfill(*, since: dt.date, until: dt.date | None = None) -> int:
    """Compute every day from ``since`` to ``until`` (default: yesterday) inclusive."""
    until = until or timezone.localdate() - dt.timedelta(days=1)
    days = [since + dt.timedelta(days=n) for n in range((until - since).days + 1)]
    return snapshot_compute_days(days=days)


def snapshot_missing_days(*, lookback: int = 30) -> list[dt.date]:
    """The days of the last ``lookback`` (up to yesterday) that have no snapshot yet."""
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    first = yesterday - dt.timedelta(days=lookback - 1)
    have = set(FindingSnapshot.objects.filter(day__gte=first).values_list("day", flat=True).distinct()) | set(
        CoverageSnapshot.objects.filter(day__gte=first).values_list("day", flat=True).distinct()
    )
    return [day for n in range(lookback) if (day := first + dt.timedelta(days=n)) not in have]


_LOCK_CLASS = 0x4D455452  # "METR": keeps our advisory locks apart from other users of them


def _lock(key: int) -> None:
    """Serialize two workers computing the same day or month (the second then rewrites the same rows)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, key])


@transaction.atomic
def _compute_day(day: dt.date) -> int:
    _lock(day.toordinal())
    start, end = day_bounds(day)
    params: dict[str, Any] = {
        "day": day,
        "start": start,
        "end": end,
        "tz": str(timezone.get_current_timezone()),
    }
    findings = _finding_rows(day, params)
    coverage = _coverage_rows(day, params)
    FindingSnapshot.objects.filter(day=day).delete()
    CoverageSnapshot.objects.filter(day=day).delete()
    FindingSnapshot.objects.bulk_create(findings, batch_size=1000)
    CoverageSnapshot.objects.bulk_create(coverage, batch_size=1000)
    return len(findings) + len(coverage)


_COUNT_FIELDS = [
    *("open", "open_past_sla", *AGE_FIELDS, "new", "reopened", "patched", "closed_unpatched"),
    *("patched_in_sla", "patched_late", "patched_no_sla", "detect_unknown"),
]
_STATE_FIELDS = ["open", "open_past_sla", *AGE_FIELDS]
_FLOW_FIELDS = [name for name in _COUNT_FIELDS if name not in _STATE_FIELDS]
_FLOW_HISTOGRAMS = ("patch_days", "censored_days", "detect_days", "kev_detect_days", "exposure_days")
_HISTOGRAM_FIELDS = (
    *("patch_days", "censored_days", "open_days", "detect_days", "kev_detect_days", "exposure_days"),
)


def _finding_rows(day: dt.date, params: dict[str, Any]) -> list[FindingSnapshot]:
    now = timezone.now()
    rows: dict[Group, FindingSnapshot] = {}

    def row(key: Group) -> FindingSnapshot:
        if key not in rows:
            team, environment, restricted, severity = key
            rows[key] = FindingSnapshot(
                day=day,
                team_id=team,
                environment=environment,
                restricted=restricted,
                severity=severity,
                computed_at=now,
                **{field: 0 for field in _COUNT_FIELDS},
                **{field: {} for field in _HISTOGRAM_FIELDS},
            )
        return rows[key]

    with connection.cursor() as cursor:
        cursor.execute(_STATE, params)
        for team, environment, restricted, severity, days, *counts in cursor.fetchall():
            target = row((team, environment, restricted, severity))
            for field, n in zip(_STATE_FIELDS, counts, strict=True):
                setattr(target, field, getattr(target, field) + n)
            target.open_days[str(days)] = counts[0]
        cursor.execute(_FLOWS, params)
        for team, environment, restricted, severity, *counts in cursor.fetchall():
            target = row((team, environment, restricted, severity))
            for field, n in zip(_FLOW_FIELDS, counts, strict=True):
                setattr(target, field, n)
        cursor.execute(_HISTOGRAMS, params)
        for team, environment, restricted, severity, kind, days, n in cursor.fetchall():
            histogram: dict[str, int] = getattr(row((team, environment, restricted, severity)), kind)
            key = str(bucket(int(days)))
            histogram[key] = histogram.get(key, 0) + int(n)
    return list(rows.values())


def _coverage_rows(day: dt.date, params: dict[str, Any]) -> list[CoverageSnapshot]:
    now = timezone.now()
    rows: dict[Group, CoverageSnapshot] = {}
    checks: dict[Group, dict[str, list[int]]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(_COVERAGE_CHECKS, params)
        for team, environment, restricted, kind, check, within_7, within_30 in cursor.fetchall():
            if check in CheckType.values:
                checks[(team, environment, restricted, kind)][check] = [int(within_7), int(within_30)]
        cursor.execute(_COVERAGE, params)
        for team, environment, restricted, kind, active, classified, s7, s30, violations in cursor.fetchall():
            key = (team, environment, restricted, kind)
            rows[key] = CoverageSnapshot(
                day=day,
                team_id=team,
                environment=environment,
                restricted=restricted,
                kind=kind,
                computed_at=now,
                active=active,
                classified=classified,
                scanned_7=s7,
                scanned_30=s30,
                violations=int(violations or 0),
                checks=checks.get(key, {}),
            )
    return list(rows.values())


_MONTH_HISTOGRAMS = " UNION ALL ".join(
    f"SELECT s.team_id, s.environment, s.restricted, s.severity, '{name}' AS name, h.key, h.value"  # noqa: S608
    f" FROM metrics_findingsnapshot s, jsonb_each_text(s.{name}) h"
    " WHERE s.day >= %(first)s AND s.day <= %(last)s"
    for name in _FLOW_HISTOGRAMS
)


@transaction.atomic
def _rollup_month(month: dt.date) -> None:
    """Rewrite a month's rollup from its daily rows (counts summed, histograms merged)."""
    _lock(-month.toordinal())
    last = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    days = FindingSnapshot.objects.filter(day__gte=month, day__lte=last)
    rows: dict[Group, FindingMonth] = {}
    now = timezone.now()
    sums = {name: Sum(name) for name in _FLOW_FIELDS}
    for row in days.values("team_id", "environment", "restricted", "severity").annotate(**sums).order_by():
        values: dict[str, Any] = dict(row)
        key = (values["team_id"], values["environment"], values["restricted"], values["severity"])
        counts = {name: values[name] or 0 for name in _FLOW_FIELDS}
        rows[key] = FindingMonth(
            month=month,
            team_id=key[0],
            environment=key[1],
            restricted=key[2],
            severity=key[3],
            computed_at=now,
            **counts,
            **{name: {} for name in _FLOW_HISTOGRAMS},
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT team_id, environment, restricted, severity, name, key, sum(value::int)"  # noqa: S608
            f" FROM ({_MONTH_HISTOGRAMS}) h GROUP BY 1, 2, 3, 4, 5, 6",
            {"first": month, "last": last},
        )
        for team, environment, restricted, severity, name, key, total in cursor.fetchall():
            target = rows.get((team, environment, restricted, severity))
            if target is not None:
                getattr(target, name)[key] = int(total)
    FindingMonth.objects.filter(month=month).delete()
    FindingMonth.objects.bulk_create(
        [row for row in rows.values() if any(getattr(row, f) for f in _FLOW_FIELDS)], batch_size=1000
    )
