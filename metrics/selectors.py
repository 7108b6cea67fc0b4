"""Permission-aware reads of the snapshots: a viewer's numbers are the sum of the rows they may see.

Snapshot rows are split by team and by restricted or not, so the one permission path decides which
rows count: members see their teams' rows, auditors every team's unrestricted rows, security leads
all. Nothing here filters by team by hand except the team filter a person chose.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar, cast

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Max, Min, Model, QuerySet, Sum
from django.utils import timezone

from hygiene.lib.survival import add
from hygiene.models import Team
from hygiene.permissions import scope_queryset
from metrics.models import ControlSnapshot, CoverageSnapshot, FindingMonth, FindingSnapshot
from metrics.services.snapshots import AGE_FIELDS

S = TypeVar("S", bound=Model)
T = TypeVar("T")

FLOW_FIELDS = (
    *("new", "reopened", "patched", "closed_unpatched", "patched_in_sla", "patched_late"),
    *("patched_no_sla", "detect_unknown"),
)
STATE_FIELDS = ("open", "open_past_sla", *AGE_FIELDS)
FLOW_HISTOGRAMS = ("patch_days", "censored_days", "detect_days", "kev_detect_days", "exposure_days")
# Flow histograms read together: what the time-to-patch estimate and the time to detect need.
HISTOGRAM_GROUPS = (("patch_days", "censored_days", "detect_days"),)
# How long sums of snapshot rows are kept at most (the generation counter makes them exact before).
REMEMBER_SECONDS = 6 * 3600
COVERAGE_FIELDS = ("active", "classified", "scanned_7", "scanned_30", "violations")


@dataclass(frozen=True)
class Scope:
    """Who is looking, and the team and environment they chose (empty: all they may see)."""

    user: Any
    team: str = ""
    environment: str = ""
    exclude_restricted: bool = False
    # What one request computed once and reads again (the newest snapshot day, the team counts): a page
    # reads three periods and a dozen tiles, which asked the same questions over and over.
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def remember(self, key: Any, compute: Callable[[], T]) -> T:
        if key not in self.memo:
            self.memo[key] = compute()
        return cast(T, self.memo[key])


def _rows(model: type[S], scope: Scope) -> QuerySet[S]:
    # An audit engagement narrowed to environments reads only their rows.
    rows = scope_queryset(
        model._default_manager.all(),
        scope.user,
        team_field="team",
        restricted_field="restricted",
        environment_field="environment",
    )
    if scope.team:
        rows = rows.filter(team__slug=scope.team)
    if scope.environment:
        rows = rows.filter(environment=scope.environment)
    if scope.exclude_restricted:
        rows = rows.filter(restricted=False)
    return rows


def _dicts(rows: Any) -> Iterator[dict[str, Any]]:
    """Rows of ``values().annotate(**computed)``, whose keys the type checker cannot know."""
    return iter(rows)


def _sums(rows: QuerySet[Any]) -> Iterator[dict[str, Any]]:
    """Rows of a ``values().annotate(**sums)`` over snapshot columns alone, read once per state of the
    snapshot tables (``remembered_rows``)."""
    try:
        sql, params = rows.query.sql_with_params()
    except EmptyResultSet:  # nothing the viewer may see
        return iter(())
    query = rows.query
    names = [*query.extra_select, *query.values_select, *query.annotation_select]
    return iter([dict(zip(names, row, strict=True)) for row in remembered_rows(sql, params)])


def finding_rows(scope: Scope) -> QuerySet[FindingSnapshot]:
    return _rows(FindingSnapshot, scope)


def coverage_rows(scope: Scope) -> QuerySet[CoverageSnapshot]:
    return _rows(CoverageSnapshot, scope)


def _whole_month(start: dt.date, end: dt.date) -> bool:
    """Whether [start, end] is a calendar month (or its days so far), which the monthly rollup holds."""
    return (
        start.day == 1
        and (end.year, end.month) == (start.year, start.month)
        and ((end + dt.timedelta(days=1)).month != end.month or end >= today())
    )


def flow_rows(scope: Scope, *, start: dt.date, end: dt.date) -> QuerySet[Any]:
    """The rows whose flows sum to [start, end]: one month's rollup when it is a month, else the days."""
    if _whole_month(start, end):
        return _rows(FindingMonth, scope).filter(month=start)
    return finding_rows(scope).filter(day__gte=start, day__lte=end)


class FindingSummary:
    """What happened in a period and how things stood at its end, by severity.

    Each part (flows, end state, histograms) is read from the snapshots on first use: a metric that
    needs only the end state (open past SLA last month) does not pay for the period's histograms.
    """

    def __init__(self, scope: Scope, *, start: dt.date, end: dt.date) -> None:
        self.scope, self.start, self.end = scope, start, end
        self.state_day = latest_day(scope, on_or_before=end)  # None: no snapshot yet
        self._histograms: dict[str, dict[str, Counter[int]]] = {}

    @cached_property
    def _in_period(self) -> QuerySet[Any]:
        return flow_rows(self.scope, start=self.start, end=self.end)

    @cached_property
    def flows(self) -> dict[str, Counter[str]]:  # field -> severity -> count
        flows: dict[str, Counter[str]] = {}
        sums = {name: Sum(name) for name in FLOW_FIELDS}
        for row in _sums(self._in_period.order_by().values("severity").annotate(**sums)):
            for name in FLOW_FIELDS:
                flows.setdefault(name, Counter())[row["severity"]] += row[name] or 0
        return flows

    @cached_property
    def state(self) -> dict[str, Counter[str]]:
        state: dict[str, Counter[str]] = {}
        if self.state_day is None:
            return state
        sums = {name: Sum(name) for name in STATE_FIELDS}
        rows = finding_rows(self.scope).filter(day=self.state_day).order_by()
        for row in _sums(rows.values("severity").annotate(**sums)):
            for name in STATE_FIELDS:
                state.setdefault(name, Counter())[row["severity"]] += row[name] or 0
        return state

    def _histogram(self, name: str) -> dict[str, Counter[int]]:
        """A histogram by severity, summed in the database once with those read beside it (the time to
        patch and to detect that the dashboard shows), not the ones no tile asks for."""
        if name not in self._histograms:
            if name == "open_days":
                rows = finding_rows(self.scope).filter(day=self.state_day) if self.state_day else None
                self._histograms[name] = {} if rows is None else _histograms(rows, (name,))[name]
            else:
                names = next((group for group in HISTOGRAM_GROUPS if name in group), (name,))
                self._histograms.update(_histograms(self._in_period, names))
        return self._histograms[name]

    def total(self, name: str) -> int:
        source = self.flows if name in FLOW_FIELDS else self.state
        return sum(source.get(name, Counter()).values())

    def histogram(self, name: str, severity: str | None = None) -> Counter[int]:
        by_severity = self._histogram(name)
        if severity is not None:
            return by_severity.get(severity, Counter())
        return add(by_severity.values())


def latest_day(scope: Scope, *, on_or_before: dt.date) -> dt.date | None:
    """The newest snapshot day not after ``on_or_before`` (any team: days are computed for all)."""
    return scope.remember(("latest_day", on_or_before), lambda: _latest_day(on_or_before))


def _latest_day(on_or_before: dt.date) -> dt.date | None:
    value: dt.date | None = FindingSnapshot.objects.filter(day__lte=on_or_before).aggregate(day=Max("day"))[
        "day"
    ]
    coverage: dt.date | None = CoverageSnapshot.objects.filter(day__lte=on_or_before).aggregate(
        day=Max("day")
    )["day"]
    days = [day for day in (value, coverage) if day is not None]
    return max(days) if days else None


def finding_summary(scope: Scope, *, start: dt.date, end: dt.date) -> FindingSummary:
    """Sums over [start, end] and the state at ``end`` (or the newest snapshot before it)."""
    return FindingSummary(scope, start=start, end=end)


def _histograms(rows: QuerySet[Any], names: tuple[str, ...]) -> dict[str, dict[str, Counter[int]]]:
    """Histograms summed in the database (jsonb_each), by severity."""
    result: dict[str, dict[str, Counter[int]]] = {name: {} for name in names}
    try:
        ids_sql, params = rows.order_by().values("id").query.sql_with_params()
    except EmptyResultSet:  # nothing the viewer may see (a person in no team)
        return result
    table = rows.model._meta.db_table
    # Only our own field and table names are formatted in; every value is a parameter. One pass over
    # the rows, each histogram of a row unnested beside the others.
    columns = ", ".join(f"('{name}', s.{name})" for name in names)
    sql = (
        f"SELECT n.name, s.severity, h.key::int, sum(h.value::int) FROM {table} s"  # noqa: S608
        f" CROSS JOIN LATERAL (VALUES {columns}) n(name, doc) CROSS JOIN LATERAL jsonb_each_text(n.doc) h"
        f" WHERE s.id IN ({ids_sql}) GROUP BY 1, 2, 3"
    )
    for name, severity, key, total in remembered_rows(sql, params):
        result[name].setdefault(severity, Counter())[int(key)] += int(total)
    return result


def remembered_rows(sql: str, params: Any) -> list[tuple[Any, ...]]:
    """The rows of a query over the snapshot tables, computed once per state of those tables.

    Snapshot rows change only when the snapshot service writes them, and every write moves a counter
    on (a trigger, migrations metrics/0004 and 0006); the rows are kept under that counter and the query's own
    text and parameters, which spell out whose rows it reads (the permission path's conditions), so
    two viewers share an answer only when they would read the same rows. Summing a month's histograms
    is most of a dashboard's time; the past does not change between two page loads.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT value + (SELECT count(*) FROM metrics_snapshot_generation_log)"
            " FROM metrics_snapshot_generation"
        )
        generation = cursor.fetchone()[0]
        digest = hashlib.sha256(repr((sql, tuple(params))).encode()).hexdigest()
        key = f"metrics:rows:{generation}:{digest}"
        rows = cache.get(key)
        if rows is None:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            cache.set(key, rows, REMEMBER_SECONDS)
    return cast(list[tuple[Any, ...]], rows)


def finding_daily_series(
    scope: Scope, *, start: dt.date, end: dt.date, fields: tuple[str, ...]
) -> dict[dt.date, dict[str, Counter[str]]]:
    """For each snapshot day in [start, end]: field -> severity -> count."""
    series: dict[dt.date, dict[str, Counter[str]]] = {}
    sums = {name: Sum(name) for name in fields}
    rows = finding_rows(scope).filter(day__gte=start, day__lte=end).order_by()
    for row in _sums(rows.values("day", "severity").annotate(**sums)):
        day = series.setdefault(row["day"], {})
        for name in fields:
            day.setdefault(name, Counter())[row["severity"]] += row[name] or 0
    return dict(sorted(series.items()))


def finding_monthly_series(
    scope: Scope, *, months: list[tuple[dt.date, dt.date]], fields: tuple[str, ...]
) -> list[dict[str, int]]:
    """Sums of ``fields`` per month (months as (first day, last day) pairs), all severities."""
    if not months:
        return []
    sums = {name: Sum(name) for name in fields}
    if all(_whole_month(first, last) for first, last in months):
        rollup = _rows(FindingMonth, scope).filter(month__in=[first for first, _ in months]).order_by()
        by_month = {row["month"]: row for row in _sums(rollup.values("month").annotate(**sums))}
        return [{name: (by_month.get(first) or {}).get(name) or 0 for name in fields} for first, _ in months]
    rows = finding_rows(scope).filter(day__gte=months[0][0], day__lte=months[-1][1]).order_by()
    totals: dict[dt.date, dict[str, int]] = {}
    for row in _sums(rows.values("day").annotate(**sums)):
        totals[row["day"]] = {name: row[name] or 0 for name in fields}
    result = []
    for first, last in months:
        month = dict.fromkeys(fields, 0)
        for day, values in totals.items():
            if first <= day <= last:
                for name in fields:
                    month[name] += values[name]
        result.append(month)
    return result


def finding_team_summary(scope: Scope, *, start: dt.date, end: dt.date) -> dict[str, dict[str, Any]]:
    """Per team slug: flows over the period and the state at its end (for the ranking)."""
    rows = finding_rows(scope)
    state_day = latest_day(scope, on_or_before=end)
    teams: dict[str, dict[str, Any]] = {}
    flows = {name: Sum(name) for name in ("new", "patched", "patched_in_sla", "patched_late")}
    period = flow_rows(scope, start=start, end=end).order_by()
    for row in _dicts(period.values("team__slug", "team__name").annotate(**flows)):
        entry = teams.setdefault(row["team__slug"], {"name": row["team__name"]})
        entry.update({name: row[name] or 0 for name in flows})
    if state_day is not None:
        state = rows.filter(day=state_day).order_by()
        totals = state.values("team__slug", "team__name").annotate(
            open=Sum("open"), past=Sum("open_past_sla")
        )
        for row in _dicts(totals):
            entry = teams.setdefault(row["team__slug"], {"name": row["team__name"]})
            entry.update({"open": row["open"] or 0, "open_past_sla": row["past"] or 0})
    return teams


@dataclass
class CoverageSummary:
    day: dt.date | None
    totals: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    # kind -> check -> [scanned within 7 days, within 30 days]
    matrix: dict[str, dict[str, list[int]]] = field(default_factory=dict)


def coverage_summary(scope: Scope, *, on: dt.date) -> CoverageSummary:
    day = latest_day(scope, on_or_before=on)
    summary = CoverageSummary(day=day)
    if day is None:
        return summary
    summary.totals = dict.fromkeys(COVERAGE_FIELDS, 0)
    try:
        ids_sql, params = coverage_rows(scope).filter(day=day).values("id").query.sql_with_params()
    except EmptyResultSet:  # nothing the viewer may see
        return summary
    # Summed in the database (a day has a row per team, environment, restriction and kind), each
    # row's check cells unnested beside it; only our own names are formatted in.
    sums = ", ".join(f"sum(s.{name})" for name in COVERAGE_FIELDS)
    table = CoverageSnapshot._meta.db_table
    by_kind = f"SELECT s.kind, {sums} FROM {table} s WHERE s.id IN ({ids_sql}) GROUP BY 1"  # noqa: S608
    for kind, *values in remembered_rows(by_kind, params):
        row = summary.by_kind.setdefault(kind, dict.fromkeys(COVERAGE_FIELDS, 0))
        for name, value in zip(COVERAGE_FIELDS, values, strict=True):
            row[name] += int(value or 0)
            summary.totals[name] += int(value or 0)
    cells = (
        f"SELECT s.kind, c.key, sum((c.value->>0)::int), sum((c.value->>1)::int) FROM {table} s"  # noqa: S608
        f" CROSS JOIN LATERAL jsonb_each(s.checks) c WHERE s.id IN ({ids_sql}) GROUP BY 1, 2"
    )
    for kind, check, within_7, within_30 in remembered_rows(cells, params):
        summary.matrix.setdefault(kind, {})[check] = [int(within_7), int(within_30)]
    return summary


def coverage_daily_series(scope: Scope, *, start: dt.date, end: dt.date) -> dict[dt.date, dict[str, int]]:
    rows = coverage_rows(scope).filter(day__gte=start, day__lte=end).order_by()
    sums = {name: Sum(name) for name in COVERAGE_FIELDS}
    return {
        row["day"]: {name: row[name] or 0 for name in COVERAGE_FIELDS}
        for row in _sums(rows.values("day").annotate(**sums))
    }


def hidden_restricted_count(scope: Scope, *, on: dt.date) -> int:
    """Open findings on restricted assets left out of an auditor's numbers (they are told how many)."""
    day = latest_day(scope, on_or_before=on)
    if day is None:
        return 0
    total = FindingSnapshot.objects.filter(day=day, restricted=True)
    if scope.team:
        total = total.filter(team__slug=scope.team)
    if scope.environment:
        total = total.filter(environment=scope.environment)
    return int(total.aggregate(n=Sum("open"))["n"] or 0)


def as_mapping(counter: Mapping[str, int]) -> dict[str, int]:
    return {key: int(value) for key, value in counter.items()}


def today() -> dt.date:
    return timezone.localdate()


def team_survival_histograms(
    scope: Scope, *, start: dt.date, end: dt.date
) -> dict[str, dict[str, Counter[int]]]:
    """Per team slug: time-to-patch events and censored items of the period (all severities)."""
    rows = finding_rows(scope)
    state_day = latest_day(scope, on_or_before=end)
    by_team: dict[int, dict[str, Counter[int]]] = {}
    picks: list[tuple[QuerySet[Any], tuple[str, ...]]] = [
        (flow_rows(scope, start=start, end=end), ("patch_days", "censored_days"))
    ]
    if state_day is not None:
        picks.append((rows.filter(day=state_day), ("open_days",)))
    for picked, names in picks:
        try:
            ids_sql, params = picked.order_by().values("id").query.sql_with_params()
        except EmptyResultSet:  # nothing the viewer may see
            continue
        table = picked.model._meta.db_table
        columns = ", ".join(f"('{name}', s.{name})" for name in names)
        sql = (
            f"SELECT n.name, s.team_id, h.key::int, sum(h.value::int) FROM {table} s"  # noqa: S608
            f" CROSS JOIN LATERAL (VALUES {columns}) n(name, doc)"
            f" CROSS JOIN LATERAL jsonb_each_text(n.doc) h WHERE s.id IN ({ids_sql}) GROUP BY 1, 2, 3"
        )
        for name, team_id, key, total in remembered_rows(sql, params):
            by_team.setdefault(team_id, {}).setdefault(name, Counter())[int(key)] += int(total)
    # Slugs read now, not kept with the sums: a renamed team is named as it is.
    slugs = dict(Team.objects.filter(pk__in=by_team).values_list("pk", "slug"))
    return {slugs[team_id]: values for team_id, values in by_team.items() if team_id in slugs}


# ---- controls: compliance recorded by the daily control snapshot ------------------------------------

CONTROL_FIELDS = ("passing", "failing", "not_assessed", "excepted", "applicable")


def control_rows(scope: Scope) -> QuerySet[ControlSnapshot]:
    return _rows(ControlSnapshot, scope)


def control_first_day(scope: Scope) -> dt.date | None:
    """The first day with a control snapshot: there is no compliance history before it."""
    return scope.remember(
        "control_first_day", lambda: ControlSnapshot.objects.aggregate(day=Min("day"))["day"]
    )


def control_latest_days(scope: Scope, *, ends: list[dt.date]) -> dict[dt.date, dt.date | None]:
    """For each of ``ends``, the newest control snapshot day on or before it (any team: days are
    computed for all), in one query of index lookups."""
    missing = [end for end in ends if ("control_latest_day", end) not in scope.memo]
    if missing:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT e, (SELECT max(day) FROM metrics_controlsnapshot WHERE day <= e)"
                " FROM unnest(%s::date[]) AS e",
                [missing],
            )
            for end, day in cursor.fetchall():
                scope.memo["control_latest_day", end] = day
    return {end: scope.memo["control_latest_day", end] for end in ends}


def control_totals(scope: Scope, *, days: list[dt.date]) -> dict[dt.date, dict[str, int]]:
    """Per snapshot day of ``days``: the assessments counted in each status, summed over what the
    viewer may see."""
    if not days:
        return {}
    sums = {name: Sum(name) for name in CONTROL_FIELDS}
    rows = control_rows(scope).filter(day__in=days).order_by().values("day").annotate(**sums)
    return {row["day"]: {name: int(row[name] or 0) for name in CONTROL_FIELDS} for row in _dicts(rows)}


def control_day_rows(scope: Scope, *, day: dt.date) -> list[dict[str, Any]]:
    """A snapshot day's counts per team slug and control, over what the viewer may see."""
    sums = {name: Sum(name) for name in CONTROL_FIELDS}
    rows = control_rows(scope).filter(day=day).order_by().values("team__slug", "control_id").annotate(**sums)
    return list(_dicts(rows))


def control_owner_totals(scope: Scope, *, day: dt.date) -> tuple[int, int]:
    """(control x team pairs with an owner, pairs) on a snapshot day, over the teams in view.

    Ownership is a team's, not an environment's: a chosen environment does not narrow it (as live)."""
    rows = control_rows(dataclasses.replace(scope, environment="")).filter(day=day)
    totals = rows.aggregate(owned=Sum("owned"), pairs=Sum("ownership_pairs"))
    return int(totals["owned"] or 0), int(totals["pairs"] or 0)
