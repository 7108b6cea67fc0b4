"""Compute the daily snapshots from the data's own history, set-based.

A finding's history is its ``first_seen`` and its sightings (``FindingSighting``: each import that
brought it back or found it gone, each status a person set, with the status after it and the SLA due
date in force). The database keeps its episodes (``FindingEpisode``: each stretch during which the
finding was open) from that history; a run copies the episodes that meet its days, with the columns
they are grouped by, into a temporary table once (and those of each 30 days into a smaller one), and
each day is then written by two INSERT ... SELECT statements (findings, coverage): the state at the
day's end from the episodes open then (one scan of the 30 days' table), the flows from those opened or
closed in it (found by index), joined in the database on their group. Assets
are counted active from ``created_at`` to ``retired_at``; a scan counts from its file's scan time once
its import has finished.

Computing a day deletes and rewrites its rows in one transaction: running it twice changes nothing,
and a day backfilled later equals the same day computed on the day (findings and assets are grouped by
their team, environment and restriction now, so data moved to another team or made restricted is
counted, and hidden, where it is now).

Controls are the exception: assessments keep no history (each run rewrites their status), so a past
day's compliance cannot be recomputed. A day's control rows (``ControlSnapshot``) are written while the
day is current (every refresh of today) and once at its close (the first computation after it ended,
which the hourly task makes within the hour); after that they are kept as written, and a backfill
(``--since``) neither rewrites them nor invents rows for days before the first snapshot: the
dashboards say there is no compliance history before it. Evidence freshness needs no snapshot: evidence
keeps its own dates, so it is computed for any past day from them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from findings.checks import CheckType
from findings.selectors import AGE_BANDS
from metrics.models import ControlSnapshot, CoverageSnapshot, FindingMonth, FindingSnapshot

# The episodes the days being computed can count (still open, or closed since the first day began: the
# episode table's indexes on open episodes and on closing times find them), with the columns of their
# finding and asset the counts group by. The database keeps the episodes from the findings' history
# (``FindingEpisode``). ``started_us`` is the opening time in microseconds since the epoch, so a day's
# ages are integer arithmetic (the same whole days as ``_DAYS``, at a third of the cost).
_EPISODES = """
CREATE TEMP TABLE metrics_episode AS
SELECT f.team_id, a.environment COLLATE "C" AS environment, a.is_restricted AS restricted,
       f.severity COLLATE "C" AS severity,
       e.opened_at AS started_at, e.closed_at AS ended_at, NULLIF(e.closed_as, '') AS end_status,
       (extract(epoch FROM e.opened_at) * 1000000)::bigint AS started_us,
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

# The days are computed a stretch at a time (``CHUNK_DAYS``) from the episodes that meet the stretch:
# each day's state is then one scan of those (about the open ones) with plain comparisons, where an
# index over all of them returned each day's open episodes one by one (the state was half a backfill).
CHUNK_DAYS = 30
_CHUNK = """
CREATE TEMP TABLE metrics_episode_chunk AS
SELECT * FROM metrics_episode
 WHERE started_at < %(end)s AND (ended_at IS NULL OR ended_at >= %(start)s)
"""

# A day's state (end of day) counts the episodes open at its end: opened before it and not closed
# before it. Its flows count the episodes opened or closed during it.
_OPEN = "e.started_at < %(end)s AND (e.ended_at IS NULL OR e.ended_at >= %(end)s)"
_TODAY_START = "e.started_at >= %(start)s AND e.started_at < %(end)s"
_TODAY_END = "e.ended_at >= %(start)s AND e.ended_at < %(end)s"
_FLOW = f"(({_TODAY_START}) OR ({_TODAY_END}))"
_PATCHED = f"e.end_status = 'mitigated' AND {_TODAY_END}"


def _age_sql() -> str:
    """One FILTER count per age band, counted as the findings list counts them (days since first seen,
    the bounds given as parameters by ``_age_bounds``: a bound computed in SQL was computed per row)."""
    parts = []
    for label, (_, high) in AGE_BANDS.items():
        name = _age_field(label)
        condition = f"e.first_seen < %({name}_before)s"
        if high is not None:
            condition += f" AND e.first_seen >= %({name}_since)s"
        parts.append(f"count(*) FILTER (WHERE {condition}) AS {name}")
    return ",\n       ".join(parts)


def _age_bounds(start: dt.datetime) -> dict[str, dt.datetime]:
    """The first-seen bounds of each age band as of the day that begins at ``start``, as
    ``findings.selectors.age_band_condition`` draws them."""
    bounds = {}
    for label, (low, high) in AGE_BANDS.items():
        bounds[f"{_age_field(label)}_before"] = start - dt.timedelta(days=low - 1)
        if high is not None:
            bounds[f"{_age_field(label)}_since"] = start - dt.timedelta(days=high)
    return bounds


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
  FROM (SELECT e.*, ((%(end_us)s - e.started_us) / 86400000000)::int AS d
          FROM metrics_episode_chunk e WHERE {_OPEN}) e
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
  FROM metrics_episode_chunk e
 WHERE {_FLOW}
 GROUP BY 1, 2, 3, 4
"""  # noqa: S608 - constants and our own field names only

# One pass over the day's opened and closed episodes: each yields a duration for each histogram it
# belongs in, NULL for the others.
_HISTOGRAMS = f"""
SELECT e.team_id, e.environment, e.restricted, e.severity, h.kind, h.days, count(*)
  FROM metrics_episode_chunk e
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

_KEY = "team_id, environment, restricted, severity"
_HISTOGRAM_KINDS = ("patch_days", "censored_days", "detect_days", "kev_detect_days", "exposure_days")
_FLOW_COLUMNS = (
    *("new", "reopened", "patched", "closed_unpatched", "patched_in_sla", "patched_late"),
    *("patched_no_sla", "detect_unknown"),
)
_HISTOGRAM_AGGREGATES = ", ".join(
    f"jsonb_object_agg(b::text, n) FILTER (WHERE kind = '{kind}') AS {kind}" for kind in _HISTOGRAM_KINDS
)
# A day's finding rows written by the database in one statement (state, flows and histograms joined on
# their group): building and saving them as Django objects took most of a backfill's time. The
# histograms are bucketed by ``_BUCKET`` (``hygiene.lib.survival.bucket``) as the dashboards read them.
_INSERT_FINDINGS = f"""
WITH state AS MATERIALIZED ({_STATE}),
state_rows AS (
    SELECT {_KEY}, sum(open)::int AS open, sum(open_past_sla)::int AS open_past_sla,
           {", ".join(f"sum({name})::int AS {name}" for name in AGE_FIELDS)},
           jsonb_object_agg(bucket::text, open) AS open_days
      FROM state GROUP BY 1, 2, 3, 4
),
flows AS ({_FLOWS}),
hist AS (
    SELECT {_KEY}, kind, {_BUCKET} AS b, sum(n)::int AS n
      FROM (SELECT {_KEY}, kind, days AS d, count AS n FROM ({_HISTOGRAMS}) h0) h
     GROUP BY 1, 2, 3, 4, 5, 6
),
hist_rows AS (
    SELECT {_KEY},
           {_HISTOGRAM_AGGREGATES}
      FROM hist GROUP BY 1, 2, 3, 4
),
keys AS (
    SELECT {_KEY} FROM state_rows UNION SELECT {_KEY} FROM flows UNION SELECT {_KEY} FROM hist_rows
)
INSERT INTO metrics_findingsnapshot (day, computed_at, {_KEY}, open, open_past_sla, {", ".join(AGE_FIELDS)},
    {", ".join(_FLOW_COLUMNS)},
    open_days, {", ".join(_HISTOGRAM_KINDS)})
SELECT %(day)s, %(now)s, {_KEY},
       COALESCE(s.open, 0), COALESCE(s.open_past_sla, 0),
       {", ".join(f"COALESCE(s.{name}, 0)" for name in AGE_FIELDS)},
       {", ".join(f"COALESCE(f.{name}, 0)" for name in _FLOW_COLUMNS)},
       COALESCE(s.open_days, '{{}}'),
       {", ".join(f"COALESCE(h.{kind}, '{{}}')" for kind in _HISTOGRAM_KINDS)}
  FROM keys
  LEFT JOIN state_rows s USING ({_KEY})
  LEFT JOIN flows f USING ({_KEY})
  LEFT JOIN hist_rows h USING ({_KEY})
"""  # noqa: S608 - constants and our own field names only

_COVERAGE_KEY = "team_id, environment, restricted, kind"
# A day's coverage rows, written by the database likewise (checks: check type -> [within 7, within 30]).
_INSERT_COVERAGE = f"""
INSERT INTO metrics_coveragesnapshot (day, computed_at, {_COVERAGE_KEY}, active, classified, scanned_7,
    scanned_30, violations, checks)
SELECT %(day)s, %(now)s, {_COVERAGE_KEY}, t.active, t.classified, t.s7, t.s30,
       COALESCE(t.violations, 0)::int, COALESCE(c.checks, '{{}}')
  FROM ({_COVERAGE}) t(team_id, environment, restricted, kind, active, classified, s7, s30, violations)
  LEFT JOIN (
      SELECT {_COVERAGE_KEY}, jsonb_object_agg(check_type, jsonb_build_array(w7::int, w30::int)) AS checks
        FROM ({_COVERAGE_CHECKS}) c0(team_id, environment, restricted, kind, check_type, w7, w30)
       WHERE check_type = ANY(%(checks)s)
       GROUP BY 1, 2, 3, 4
  ) c USING ({_COVERAGE_KEY})
"""  # noqa: S608 - constants and our own field names only

_CONTROL_KEY = "team_id, environment, restricted, control_id"
_CONTROL_ACTIVE = "(c.retired_at IS NULL OR c.retired_at >= %(end)s)"
# A day's control rows: the assessments of the controls active at its end, by team, their asset's
# environment (none for team-level ones) and restriction, counted per status; and, on each team's own
# row of every such control, whether the team has an owner for it (the ownership share's pairs).
_INSERT_CONTROLS = f"""
INSERT INTO metrics_controlsnapshot (day, computed_at, {_CONTROL_KEY}, passing, failing, not_assessed,
    excepted, ownership_pairs, owned)
SELECT %(day)s, %(now)s, {_CONTROL_KEY}, sum(passing), sum(failing), sum(not_assessed), sum(excepted),
       sum(pairs), sum(owned)
  FROM (
    SELECT s.team_id, a.environment, s.restricted, s.control_id,
           count(*) FILTER (WHERE s.status = 'passing') AS passing,
           count(*) FILTER (WHERE s.status = 'failing') AS failing,
           count(*) FILTER (WHERE s.status = 'not_assessed') AS not_assessed,
           count(*) FILTER (WHERE s.status = 'excepted') AS excepted,
           0 AS pairs, 0 AS owned
      FROM controls_assessment s
      JOIN controls_control c ON c.id = s.control_id
      LEFT JOIN assets_asset a ON a.id = s.asset_id
     WHERE {_CONTROL_ACTIVE} AND s.status <> 'not_applicable'
     GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT t.id, NULL, false, c.id, 0, 0, 0, 0, 1, (o.owner_id IS NOT NULL)::int
      FROM hygiene_team t
     CROSS JOIN controls_control c
      LEFT JOIN controls_controlownership o ON o.team_id = t.id AND o.control_id = c.id
     WHERE {_CONTROL_ACTIVE}
  ) counted
 GROUP BY {_CONTROL_KEY}
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
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS metrics_episode")


@contextmanager
def _chunk(first: dt.date, last: dt.date) -> Iterator[None]:
    """The episodes that meet the days ``first`` to ``last`` (open at the end of one, opened or closed
    in one), which those days' statements read."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS metrics_episode_chunk")
        cursor.execute(_CHUNK, {"start": day_bounds(first)[0], "end": day_bounds(last)[1]})
        # The flows read the few episodes opened or closed in a day.
        cursor.execute("CREATE INDEX metrics_episode_chunk_started ON metrics_episode_chunk (started_at)")
        cursor.execute("CREATE INDEX metrics_episode_chunk_ended ON metrics_episode_chunk (ended_at)")
        cursor.execute("ANALYZE metrics_episode_chunk")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS metrics_episode_chunk")


def snapshot_compute_days(*, days: list[dt.date], connections: int | None = None) -> int:
    """Compute (or recompute) the snapshots of ``days``; return how many rows were written.

    A long run is split into ``connections`` stretches of consecutive days (default
    ``settings.HYGIENE_METRICS_CONNECTIONS``), computed at once on as many database connections: the
    database does the work, one statement per connection at a time, so each stretch takes a core.
    Inside a transaction (a test, a caller's atomic block) the days are computed on its connection
    alone: other connections would not see what it has not committed.
    """
    days = sorted(set(days))
    if not days:
        return 0
    wanted = settings.HYGIENE_METRICS_CONNECTIONS if connections is None else connections
    stretches = _stretches(days, 1 if connection.in_atomic_block else wanted)
    if len(stretches) == 1:
        written = _compute_stretch(days)
    else:
        with ThreadPoolExecutor(max_workers=len(stretches)) as pool:
            written = sum(pool.map(_compute_stretch_on_own_connection, stretches))
    for month in sorted({day.replace(day=1) for day in days}):
        _rollup_month(month)
    return written


def _stretches(days: list[dt.date], count: int) -> list[list[dt.date]]:
    """``days`` (sorted) cut into up to ``count`` runs of about equal length, none shorter than two
    chunks (a shorter one would cost more in building its episodes than it saves)."""
    count = max(1, min(count, len(days) // (2 * CHUNK_DAYS)))
    size = -(-len(days) // count)
    return [days[n : n + size] for n in range(0, len(days), size)]


def _compute_stretch_on_own_connection(days: list[dt.date]) -> int:
    try:
        return _compute_stretch(days)
    finally:
        connection.close()  # this thread's own connection


def _compute_stretch(days: list[dt.date]) -> int:
    written = 0
    with _episodes(days[0], days[-1]):
        while days:
            ends = days[0] + dt.timedelta(days=CHUNK_DAYS)
            chunk, days = [day for day in days if day < ends], [day for day in days if day >= ends]
            with _chunk(chunk[0], chunk[-1]):
                for day in chunk:
                    written += _compute_day(day)
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
        "end_us": round(end.timestamp() * 1_000_000),
        **_age_bounds(start),
    }
    FindingSnapshot.objects.filter(day=day).delete()
    CoverageSnapshot.objects.filter(day=day).delete()
    params |= {"now": timezone.now(), "checks": list(CheckType.values)}
    with connection.cursor() as cursor:
        # A day's open episodes are grouped in memory (by hash) rather than sorted on disk.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(_INSERT_FINDINGS, params)
        written = cursor.rowcount
        cursor.execute(_INSERT_COVERAGE, params)
        written += cursor.rowcount
    return written + snapshot_compute_controls(day=day)


def control_snapshot_recordable(*, day: dt.date) -> bool:
    """Whether the assessments' present state may be recorded as ``day``'s: today, or a day whose
    close has not been recorded yet and has only just ended (yesterday). Older days keep what was
    written (or stay without rows: their state is gone)."""
    today = timezone.localdate()
    if day >= today:
        return True
    if day < today - dt.timedelta(days=1):
        return False
    _, end = day_bounds(day)
    return not ControlSnapshot.objects.filter(day=day, computed_at__gte=end).exists()


@transaction.atomic
def snapshot_compute_controls(*, day: dt.date) -> int:
    """Record the assessments' state as ``day``'s control snapshot when it still is (see
    ``control_snapshot_recordable``); return how many rows were written (0: the day was kept)."""
    _lock(day.toordinal())
    if not control_snapshot_recordable(day=day):
        return 0
    _, end = day_bounds(day)
    ControlSnapshot.objects.filter(day=day).delete()
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_CONTROLS, {"day": day, "end": end, "now": timezone.now()})
        return int(cursor.rowcount)


_COUNT_FIELDS = [
    *("open", "open_past_sla", *AGE_FIELDS, "new", "reopened", "patched", "closed_unpatched"),
    *("patched_in_sla", "patched_late", "patched_no_sla", "detect_unknown"),
]
_STATE_FIELDS = ["open", "open_past_sla", *AGE_FIELDS]
_FLOW_FIELDS = [name for name in _COUNT_FIELDS if name not in _STATE_FIELDS]
_FLOW_HISTOGRAMS = ("patch_days", "censored_days", "detect_days", "kev_detect_days", "exposure_days")


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
