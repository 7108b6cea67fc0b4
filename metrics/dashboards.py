"""The dashboards' content: KPI tiles, charts, rankings and comparisons, read through the selectors.

Trends come from the snapshots; today's state (open findings, past SLA, age bands) is read live from
the same findings selector as the list each number drills down to, so the two always agree.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.db.models import Count, Q
from django.urls import get_script_prefix, reverse

from assets.models import Asset, AssetKind, Environment
from findings.checks import CheckType
from findings.models import SEVERITY_RANK, FindingStatus
from findings.selectors import AGE_BANDS, FIRST_SEEN_BOUNDS, age_band_condition, finding_list_for_user
from hygiene import selectors as hygiene_selectors
from hygiene.lib.survival import kaplan_meier
from hygiene.models import Membership, TeamRole
from metrics import selectors
from metrics.charts import SEVERITY_COLOURS, Chart, bar, figure, heatmap, label, line
from metrics.definitions import (
    METRICS,
    SEVERITIES,
    TTP_FORMULA,
    Context,
    Lazy,
    LazyLive,
    Metric,
    MetricValue,
    pending_reason,
    trend,
    value_of,
)
from metrics.selectors import Scope

KPI_KEYS = (
    "mttd",
    "ttp_p50",
    "ttp_p90",
    "sla_compliance",
    "open_past_sla",
    "scan_coverage_7",
    "scan_coverage_30",
    "classified_share",
    "champion_share",
    "control_compliance",
    "incidents_open",
    "exceptions_expiring",
)
# Findings list filters that pick findings by a time (first seen, patched, open on a day, age).
TIME_FILTERS = frozenset({*FIRST_SEEN_BOUNDS, "patched_from"})
SEVERITY_BY_RANK = {rank: str(severity) for severity, rank in SEVERITY_RANK.items()}
AGE_FIELD_BY_BAND = dict(zip(AGE_BANDS, selectors.AGE_FIELDS, strict=True))


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # the last day counted (today for the current month)

    @property
    def label(self) -> str:
        return self.start.strftime("%B %Y")

    @property
    def includes_today(self) -> bool:
        return self.start <= selectors.today() <= self.end

    @classmethod
    def month(cls, first: dt.date) -> Period:
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        return cls(first, min(last, max(first, selectors.today())))

    def previous(self) -> Period:
        return Period.month((self.start - dt.timedelta(days=1)).replace(day=1))

    def year_before(self) -> Period:
        return Period.month(self.start.replace(year=self.start.year - 1))


def parse_month(value: str | None) -> dt.date:
    today = selectors.today()
    try:
        year, month = (int(part) for part in str(value or "").split("-", 1))
        first = dt.date(year, month, 1)
    except ValueError:
        return today.replace(day=1)
    return min(first, today.replace(day=1))


def last_months(period: Period, count: int = 12) -> list[Period]:
    months = [period]
    while len(months) < count:
        months.insert(0, months[0].previous())
    return months


@dataclass
class Tile:
    metric: Metric
    value: MetricValue | None
    previous: MetricValue | None
    last_year: MetricValue | None
    url: str = ""
    by_severity: list[tuple[str, MetricValue | None]] = field(default_factory=list)

    @property
    def trend(self) -> str:
        return trend(self.metric, self.value, self.previous)

    @property
    def pending(self) -> str:
        return pending_reason(self.metric) if self.value is None else ""


@dataclass
class Dashboard:
    scope: Scope
    period: Period
    tiles: list[Tile]
    charts: list[Chart]
    teams: list[dict[str, Any]]
    assets: list[dict[str, Any]]
    hidden_restricted: int = 0
    has_snapshots: bool = True


@lru_cache(maxsize=64)
def _list_path(name: str, prefix: str) -> str:
    return reverse(name)


def _path(name: str) -> str:
    """A list's path, reversed once per script prefix: a page links to it a thousand times."""
    return _list_path(name, get_script_prefix())


def findings_url(scope: Scope, **params: Any) -> str:
    query = {"team": scope.team, "environment": scope.environment, **params}
    if "status" not in query:
        query["status"] = ""  # any status: the list defaults to open ones otherwise
    if "sort" not in query and TIME_FILTERS.intersection(query):
        # Newest first: the findings a time filter picks lie together in first-seen order, so a page
        # is an index range; in severity order it read every finding with an earlier due date.
        query["sort"] = "newest"
    return _path("findings:list") + "?" + urlencode({k: v for k, v in query.items() if v is not None})


def assets_url(scope: Scope, **params: Any) -> str:
    query = {"team": scope.team, "environment": scope.environment, **params}
    return _path("assets:list") + "?" + urlencode({k: v for k, v in query.items() if v})


def period_context(scope: Scope, period: Period) -> Context:
    """The period's summaries, each read on first use and once (see ``Lazy``)."""
    live = LazyLive()
    live.add(
        ("teams", "teams_with_champion"), lambda: scope.remember("team_counts", lambda: _team_counts(scope))
    )
    if period.includes_today:
        live.add(("state", "open", "open_past_sla"), lambda: live_state(scope))
        # Alone (an API value), open past SLA is one count over the due-date index.
        live.add(("open_past_sla",), lambda: {"open_past_sla": live_open_past_sla(scope)})
    return Context(
        findings=Lazy(lambda: selectors.finding_summary(scope, start=period.start, end=period.end)),
        coverage=Lazy(lambda: selectors.coverage_summary(scope, on=period.end)),
        live=live,
        scope=scope,
        start=period.start,
        end=period.end,
    )


def _team_counts(scope: Scope) -> dict[str, int]:
    teams = hygiene_selectors.team_list_for_user(user=scope.user)
    if scope.team:
        teams = teams.filter(slug=scope.team)
    ids = list(teams.values_list("pk", flat=True))
    champions = (
        Membership.objects.filter(team_id__in=ids, role=TeamRole.CHAMPION)
        .values("team_id")
        .distinct()
        .count()
    )
    return {"teams": len(ids), "teams_with_champion": champions}


def _visible_findings(scope: Scope, **filters: Any) -> Any:
    base = {"team": scope.team, "environment": scope.environment, **filters}
    findings = finding_list_for_user(user=scope.user, filters={k: v for k, v in base.items() if v})
    if scope.exclude_restricted:
        findings = findings.filter(asset__is_restricted=False)
    return findings.order_by()


def live_open_past_sla(scope: Scope) -> int:
    """Today's open findings past their due date, counted like the list behind the tile."""
    return int(_visible_findings(scope, status=FindingStatus.OPEN, past_sla="on").count())


def live_state(scope: Scope) -> dict[str, Any]:
    """Today's open findings by severity, past SLA and age band: one query over the list's own rows
    (by severity rank, which the open findings' index holds: no table row is read)."""
    today = selectors.today()
    counts: dict[str, Any] = {"open": Count("pk"), "past": Count("pk", filter=Q(sla_due__lt=today))}
    for band in AGE_BANDS:
        counts[AGE_FIELD_BY_BAND[band]] = Count("pk", filter=age_band_condition(band, today=today))
    rows = _visible_findings(scope, status=FindingStatus.OPEN).values("severity_rank").annotate(**counts)
    state: dict[str, Counter[str]] = {"open": Counter(), "open_past_sla": Counter()}
    for name in AGE_FIELD_BY_BAND.values():
        state[name] = Counter()
    for row in rows:
        severity = SEVERITY_BY_RANK.get(row["severity_rank"])
        if severity is None:
            continue
        state["open"][severity] = row["open"]
        state["open_past_sla"][severity] = row["past"]
        for name in AGE_FIELD_BY_BAND.values():
            state[name][severity] = row[name]
    return {
        "state": state,
        "open": sum(state["open"].values()),
        "open_past_sla": sum(state["open_past_sla"].values()),
    }


def build_dashboard(scope: Scope, period: Period, *, charts: bool = True) -> Dashboard:
    current = period_context(scope, period)
    previous = period_context(scope, period.previous())
    last_year = period_context(scope, period.year_before())
    if period.includes_today:
        current.live.get("state")  # the wider query first: the tiles read open past SLA from it
    tiles = [_tile(key, scope, period, current, previous, last_year) for key in KPI_KEYS]
    dashboard = Dashboard(
        scope=scope,
        period=period,
        tiles=tiles,
        charts=[],
        teams=_team_ranking(scope, period),
        assets=_worst_assets(scope) if period.includes_today else [],
        has_snapshots=current.findings.state_day is not None or bool(current.findings.flows),
    )
    if scope.exclude_restricted:
        dashboard.hidden_restricted = selectors.hidden_restricted_count(scope, on=period.end)
    if charts:
        dashboard.charts = [
            ttp_chart(scope, period, current),
            open_trend_chart(scope, period, current),
            age_chart(scope, period, current),
            flow_chart(scope, period),
            sla_chart(scope, period),
            coverage_chart(scope, period, current),
        ]
        if apps.is_installed("incidents"):
            dashboard.charts.append(incident_chart(scope, period, current))
        if apps.is_installed("controls"):
            from metrics.control_charts import compliance_trend_chart

            dashboard.charts.append(compliance_chart(scope, period, current))
            dashboard.charts.append(compliance_trend_chart(scope, period, current))
    return dashboard


def _tile(key: str, scope: Scope, period: Period, *contexts: Context) -> Tile:
    current, previous, last_year = contexts
    if key in ("ttp_p50", "ttp_p90"):
        metric = METRICS[key]
        tile = Tile(
            metric, value_of(metric, current), value_of(metric, previous), value_of(metric, last_year)
        )
        tile.by_severity = [(sev, value_of(METRICS[f"{key}_{sev}"], current)) for sev in SEVERITIES]
        tile.url = findings_url(scope, patched_from=period.start, patched_to=period.end)
        return tile
    metric = METRICS[key]
    tile = Tile(metric, value_of(metric, current), value_of(metric, previous), value_of(metric, last_year))
    if key == "open_past_sla":
        tile.url = (
            findings_url(scope, status=FindingStatus.OPEN, past_sla="on")
            if period.includes_today
            else findings_url(scope, open_on=period.end, past_sla="on")
        )
    elif key in ("sla_compliance",):
        tile.url = findings_url(scope, patched_from=period.start, patched_to=period.end)
    elif key == "mttd":
        tile.url = findings_url(scope, found_from=period.start, found_to=period.end)
    elif key.startswith("scan_coverage"):
        tile.url = assets_url(scope, unscanned="any")
    elif key == "classified_share":
        tile.url = assets_url(scope, classification="unclassified")
    elif key == "control_compliance":
        tile.url = reverse("controls:compliance")
    elif key == "incidents_open":
        tile.url = reverse("incidents:list") + "?" + urlencode({"team": scope.team, "status": "open"})
    elif key == "exceptions_expiring":
        tile.url = reverse("controls:exceptions") + "?" + urlencode({"team": scope.team})
    return tile


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "days":
        return f"{value:g} d"
    return f"{value:g}"


def ttp_chart(scope: Scope, period: Period, context: Context) -> Chart:
    chart = Chart(
        key="ttp",
        title=f"Time to patch by severity, {period.label}",
        formula=TTP_FORMULA,
        headers=[
            "Severity",
            "Median (days)",
            "90th percentile (days)",
            "Patched episodes",
            "Censored (open or unpatched)",
        ],
    )
    summary = context.findings
    p50s, p90s, urls = [], [], []
    for severity in SEVERITIES:
        censored = summary.histogram("censored_days", severity) + summary.histogram("open_days", severity)
        estimate = kaplan_meier(summary.histogram("patch_days", severity), censored)
        url = findings_url(scope, severity=severity, patched_from=period.start, patched_to=period.end)
        p50s.append(estimate.p50)
        p90s.append(estimate.p90)
        urls.append(url)
        chart.rows.append(
            [severity.title(), estimate.p50, estimate.p90, (estimate.events, url), estimate.censored]
        )
    if not any(row[3][0] for row in chart.rows):
        chart.empty = f"No finding was patched in {period.label}: there is no time to patch to show yet."
        return chart
    names = [s.title() for s in SEVERITIES]
    chart.figure = figure(
        [
            bar(names, p50s, name="Median", urls=urls, colour="#1e40af"),
            bar(names, p90s, name="90th percentile", urls=urls, colour="#94a3b8"),
        ],
        y_title="days",
        barmode="group",
    )
    chart.note = "Click a bar for the findings patched in the period at that severity."
    return chart


def open_trend_chart(scope: Scope, period: Period, context: Context) -> Chart:
    chart = Chart(
        key="open",
        title=f"Open findings at the end of each day, {period.label}",
        formula=METRICS["open"].formula,
        headers=["Day", *[s.title() for s in SEVERITIES], "Info"],
    )
    series = selectors.finding_daily_series(scope, start=period.start, end=period.end, fields=("open",))
    today = selectors.today()
    live = context.live.get("state")
    if live is not None:
        series[today] = {"open": live["open"]}
    if not series or not any(sum(day["open"].values()) for day in series.values()):
        chart.empty = f"No finding was open in {period.label}, or no snapshot covers it yet."
        return chart
    days = sorted(series)
    # Each point's list, built once for the trace and its table row.
    kinds = (*SEVERITIES, "info")
    links = {(day, s): _open_url(scope, day, today, severity=s) for day in days for s in kinds}
    traces = []
    for severity in (*SEVERITIES, "info"):
        values = [series[day]["open"].get(severity, 0) for day in days]
        urls = [links[day, severity] for day in days]
        traces.append(
            line(
                [d.isoformat() for d in days],
                values,
                name=severity.title(),
                urls=urls,
                colour=SEVERITY_COLOURS[severity],
            )
        )
    for day in days:
        chart.rows.append(
            [day.isoformat()]
            + [(series[day]["open"].get(s, 0), links[day, s]) for s in (*SEVERITIES, "info")]
        )
    chart.figure = figure(traces, y_title="open findings")
    chart.note = (
        "Today's point is live; earlier days come from the daily snapshots. Click a point for its list."
    )
    return chart


def _open_url(scope: Scope, day: dt.date, today: dt.date, **params: Any) -> str:
    if day == today:
        return findings_url(scope, status=FindingStatus.OPEN, **params)
    return findings_url(scope, open_on=day, **params)


def age_chart(scope: Scope, period: Period, context: Context) -> Chart:
    live = context.live.get("state")
    state = live if live is not None else context.findings.state
    chart = Chart(
        key="age",
        title=f"Open findings by age (days since first seen), {'today' if live is not None else period.end}",
        formula=METRICS["open"].formula,
        headers=["Age (days)", *[s.title() for s in SEVERITIES], "Info", "All"],
    )
    bands = list(AGE_BANDS)
    traces = []
    for severity in (*SEVERITIES, "info"):
        values = [state.get(AGE_FIELD_BY_BAND[b], Counter()).get(severity, 0) for b in bands]
        urls = [_age_url(scope, period, live is not None, band=b, severity=severity) for b in bands]
        traces.append(bar(bands, values, name=severity.title(), urls=urls, colour=SEVERITY_COLOURS[severity]))
    total = 0
    for band in bands:
        counts = state.get(AGE_FIELD_BY_BAND[band], Counter())
        row: list[Any] = [band]
        row += [
            (counts.get(s, 0), _age_url(scope, period, live is not None, band=band, severity=s))
            for s in (*SEVERITIES, "info")
        ]
        row.append((sum(counts.values()), _age_url(scope, period, live is not None, band=band)))
        total += sum(counts.values())
        chart.rows.append(row)
    if total == 0:
        chart.empty = "No finding is open: nothing to age."
        return chart
    chart.figure = figure(traces, x_title="days since first seen", barmode="stack")
    return chart


def _age_url(scope: Scope, period: Period, live: bool, *, band: str, severity: str = "") -> str:
    if live:
        return findings_url(scope, status=FindingStatus.OPEN, age=band, severity=severity or None)
    return findings_url(scope, open_on=period.end, age=band, severity=severity or None)


def flow_chart(scope: Scope, period: Period) -> Chart:
    months = last_months(period)
    sums = selectors.finding_monthly_series(
        scope, months=[(m.start, m.end) for m in months], fields=("new", "patched", "reopened")
    )
    chart = Chart(
        key="flow",
        title="Discovered against patched, by month",
        formula=f"{METRICS['discovered'].formula} {METRICS['patched'].formula}",
        headers=["Month", "Discovered", "Patched", "Reopened"],
    )
    labels = [m.label for m in months]
    new_urls = [findings_url(scope, found_from=m.start, found_to=m.end) for m in months]
    patched_urls = [findings_url(scope, patched_from=m.start, patched_to=m.end) for m in months]
    for month, values, new_url, patched_url in zip(months, sums, new_urls, patched_urls, strict=True):
        chart.rows.append(
            [month.label, (values["new"], new_url), (values["patched"], patched_url), values["reopened"]]
        )
    if not any(values["new"] or values["patched"] for values in sums):
        chart.empty = "Nothing was discovered or patched in these twelve months (or no snapshot covers them)."
        return chart
    chart.figure = figure(
        [
            bar(labels, [v["new"] for v in sums], name="Discovered", urls=new_urls, colour="#c2410c"),
            bar(labels, [v["patched"] for v in sums], name="Patched", urls=patched_urls, colour="#15803d"),
        ],
        barmode="group",
    )
    return chart


def sla_chart(scope: Scope, period: Period) -> Chart:
    months = last_months(period)
    sums = selectors.finding_monthly_series(
        scope, months=[(m.start, m.end) for m in months], fields=("patched_in_sla", "patched_late")
    )
    chart = Chart(
        key="sla",
        title="SLA compliance, by month",
        formula=METRICS["sla_compliance"].formula,
        headers=["Month", "Within SLA", "Late", "Compliance (%)"],
    )
    x, y, urls = [], [], []
    for month, values in zip(months, sums, strict=True):
        done = values["patched_in_sla"] + values["patched_late"]
        share = round(100 * values["patched_in_sla"] / done, 1) if done else None
        url = findings_url(scope, patched_from=month.start, patched_to=month.end)
        chart.rows.append(
            [
                month.label,
                values["patched_in_sla"],
                values["patched_late"],
                (share if share is not None else "—", url),
            ]
        )
        if share is not None:
            x.append(month.label)
            y.append(share)
            urls.append(url)
    if not x:
        chart.empty = "No finding with an SLA was patched in these twelve months."
        return chart
    chart.figure = figure(
        [line(x, y, name="Within SLA (%)", urls=urls, colour="#15803d")],
        yaxis={"title": {"text": "%"}, "range": [0, 100]},
    )
    return chart


def coverage_chart(scope: Scope, period: Period, context: Context) -> Chart:
    coverage = context.coverage
    checks = list(CheckType)
    chart = Chart(
        key="coverage",
        title="Scan coverage: asset kind × check type, scanned within 30 days (7 days in brackets)",
        formula=METRICS["scan_coverage_30"].formula,
        headers=["Asset kind", "Active", *[str(c.label) for c in checks]],
    )
    kinds = [k for k in AssetKind if coverage.by_kind.get(k, {}).get("active")]
    if not kinds:
        chart.empty = "No active asset in view at the end of the period, or no snapshot covers it yet."
        return chart
    z, text, urls = [], [], []
    for kind in kinds:
        active = coverage.by_kind[kind]["active"]
        row: list[Any] = [str(kind.label), (active, assets_url(scope, kind=kind.value))]
        z_row, text_row, url_row = [], [], []
        for check in checks:
            within_7, within_30 = coverage.matrix.get(kind.value, {}).get(check.value, [0, 0])
            share = round(100 * within_30 / active, 1)
            url = assets_url(scope, kind=kind.value, unscanned=check.value)
            z_row.append(share)
            text_row.append(f"{share:g}% ({within_7})" if within_30 else "never")
            url_row.append(url)
            row.append((f"{within_30} ({within_7})", url))
        z.append(z_row)
        text.append(text_row)
        urls.append(url_row)
        chart.rows.append(row)
    chart.figure = figure(
        [
            heatmap(
                [str(c.label) for c in checks], [label(str(k.label)) for k in kinds], z, urls=urls, text=text
            )
        ],
        height=120 + 40 * len(kinds),
        margin={"l": 160, "r": 20, "t": 10, "b": 60},
    )
    chart.note = (
        "A click on a cell lists the active assets of that kind not scanned for that check in 30 days."
    )
    return chart


def _team_ranking(scope: Scope, period: Period) -> list[dict[str, Any]]:
    """Teams ranked worst first: most open past SLA, then lowest SLA compliance."""
    current = selectors.finding_team_summary(scope, start=period.start, end=period.end)
    before = selectors.finding_team_summary(scope, start=period.previous().start, end=period.previous().end)
    ranking = []
    for slug, values in current.items():
        done = values.get("patched_in_sla", 0) + values.get("patched_late", 0)
        compliance = round(100 * values.get("patched_in_sla", 0) / done, 1) if done else None
        prior = before.get(slug, {})
        ranking.append(
            {
                "slug": slug,
                "name": values["name"],
                "open": values.get("open", 0),
                "open_past_sla": values.get("open_past_sla", 0),
                "open_past_sla_before": prior.get("open_past_sla"),
                "new": values.get("new", 0),
                "patched": values.get("patched", 0),
                "compliance": compliance,
                "url": reverse("metrics:team", args=[slug]),
                "findings_url": findings_url(
                    Scope(user=scope.user, team=slug, environment=scope.environment),
                    **(
                        {"status": FindingStatus.OPEN, "past_sla": "on"}
                        if period.includes_today
                        else {"open_on": period.end, "past_sla": "on"}
                    ),
                ),
            }
        )
    ranking.sort(key=lambda t: (-t["open_past_sla"], t["compliance"] if t["compliance"] is not None else 101))
    return ranking[:10]


def _worst_assets(scope: Scope) -> list[dict[str, Any]]:
    """The assets with most open findings past SLA today (live, through the findings selector).

    Counted per asset from the open findings' index first, then the ten named: joining names to
    every open finding before grouping read each one's row (most of a second at a million)."""
    counted = list(
        _visible_findings(scope, status=FindingStatus.OPEN, past_sla="on")
        .values("asset_id")
        .annotate(n=Count("*"))
        .order_by("-n", "asset_id")
        .values_list("asset_id", "n")[:10]
    )
    names = {
        row["pk"]: row
        for row in Asset.objects.filter(pk__in=[pk for pk, _ in counted]).values("pk", "name", "team__name")
    }
    return [
        {
            "name": names[pk]["name"],
            "team": names[pk]["team__name"],
            "count": n,
            "url": findings_url(scope, status=FindingStatus.OPEN, past_sla="on", asset=pk),
        }
        for pk, n in counted
        if pk in names
    ]


ENVIRONMENTS = Environment.choices


@dataclass
class Comparison:
    """This month against the month before and the same month a year earlier, per team and asset kind."""

    scope: Scope
    periods: list[Period]
    teams: list[dict[str, Any]]
    kinds: list[dict[str, Any]]
    charts: list[Chart]


def build_comparison(scope: Scope, period: Period) -> Comparison:
    periods = [period, period.previous(), period.year_before()]
    team_rows = _compare_teams(scope, periods)
    kind_rows = _compare_kinds(scope, periods)
    return Comparison(
        scope=scope,
        periods=periods,
        teams=team_rows,
        kinds=kind_rows,
        charts=[_compare_chart(scope, periods, team_rows)],
    )


def _compare_teams(scope: Scope, periods: list[Period]) -> list[dict[str, Any]]:
    summaries = [selectors.finding_team_summary(scope, start=p.start, end=p.end) for p in periods]
    survivals = [selectors.team_survival_histograms(scope, start=p.start, end=p.end) for p in periods]
    slugs = sorted({slug for summary in summaries for slug in summary})
    rows = []
    for slug in slugs:
        cells = []
        for period, summary, survival in zip(periods, summaries, survivals, strict=True):
            values = summary.get(slug, {})
            histograms = survival.get(slug, {})
            estimate = kaplan_meier(
                histograms.get("patch_days", Counter()),
                histograms.get("censored_days", Counter()) + histograms.get("open_days", Counter()),
            )
            team_scope = Scope(user=scope.user, team=slug, environment=scope.environment)
            done = values.get("patched_in_sla", 0) + values.get("patched_late", 0)
            cells.append(
                {
                    "new": values.get("new", 0),
                    "new_url": findings_url(team_scope, found_from=period.start, found_to=period.end),
                    "patched": values.get("patched", 0),
                    "patched_url": findings_url(team_scope, patched_from=period.start, patched_to=period.end),
                    "ttp_p50": estimate.p50,
                    "compliance": round(100 * values.get("patched_in_sla", 0) / done, 1) if done else None,
                }
            )
        name = next(summary[slug]["name"] for summary in summaries if slug in summary)
        now, before = cells[0]["ttp_p50"], cells[1]["ttp_p50"]
        movement = (
            ""
            if now is None or before is None
            else "better"
            if now < before
            else "worse"
            if now > before
            else "same"
        )
        rows.append({"slug": slug, "name": name, "cells": cells, "movement": movement})
    return rows


def _compare_kinds(scope: Scope, periods: list[Period]) -> list[dict[str, Any]]:
    """Discovered and patched per asset kind, counted live by the list's own filters."""
    counts: dict[str, list[dict[str, Any]]] = {kind.value: [] for kind in AssetKind}
    for period in periods:
        found = dict(
            _visible_findings(scope, found_from=period.start, found_to=period.end)
            .values_list("asset__kind")
            .annotate(n=Count("id"))
            .values_list("asset__kind", "n")
        )
        patched = dict(
            _visible_findings(scope, patched_from=period.start, patched_to=period.end)
            .values_list("asset__kind")
            .annotate(n=Count("id"))
            .values_list("asset__kind", "n")
        )
        for kind in counts:
            counts[kind].append(
                {
                    "new": found.get(kind, 0),
                    "new_url": findings_url(scope, kind=kind, found_from=period.start, found_to=period.end),
                    "patched": patched.get(kind, 0),
                    "patched_url": findings_url(
                        scope, kind=kind, patched_from=period.start, patched_to=period.end
                    ),
                }
            )
    labels = dict(AssetKind.choices)
    return [
        {"kind": kind, "label": labels[kind], "cells": cells}
        for kind, cells in counts.items()
        if any(cell["new"] or cell["patched"] for cell in cells)
    ]


def _compare_chart(scope: Scope, periods: list[Period], teams: list[dict[str, Any]]) -> Chart:
    chart = Chart(
        key="compare-teams",
        title="Patched per team: this month, the month before, a year before",
        formula=METRICS["patched"].formula,
        headers=["Team", *[p.label for p in periods]],
    )
    for row in teams:
        chart.rows.append([row["name"], *[(cell["patched"], cell["patched_url"]) for cell in row["cells"]]])
    if not any(cell["patched"] for row in teams for cell in row["cells"]):
        chart.empty = "No team patched anything in these three months (or no snapshot covers them)."
        return chart
    names = [label(row["name"]) for row in teams]
    colours = ["#1e40af", "#94a3b8", "#cbd5e1"]
    traces = [
        bar(
            names,
            [row["cells"][index]["patched"] for row in teams],
            name=period.label,
            urls=[row["cells"][index]["patched_url"] for row in teams],
            colour=colours[index],
        )
        for index, period in enumerate(periods)
    ]
    chart.figure = figure(traces, barmode="group")
    return chart


INCIDENT_SEVERITIES = ("critical", "high", "medium", "low")


def incident_chart(scope: Scope, period: Period, context: Context) -> Chart:
    """Incidents detected in the period by category and severity (the incidents app's figures)."""
    from incidents.metrics import incident_figures
    from incidents.models import Category

    figures = context.cached("incidents", lambda: incident_figures(scope, start=period.start, end=period.end))
    chart = Chart(
        key="incidents",
        title=f"Incidents detected in {period.label}, by category and severity",
        formula=METRICS["incidents_open"].formula,
        headers=["Category", *[s.title() for s in INCIDENT_SEVERITIES], "All"],
    )
    categories = [c for c in Category if any(figures.detected[c.value, s] for s in INCIDENT_SEVERITIES)]
    if not categories:
        chart.empty = f"No incident was detected in {period.label}."
        return chart

    def url(category: str, severity: str = "") -> str:
        query = {"team": scope.team, "category": category, "severity": severity}
        query |= {"since": period.start.isoformat(), "until": period.end.isoformat()}
        return reverse("incidents:list") + "?" + urlencode({k: v for k, v in query.items() if v})

    names = [str(c.label) for c in categories]
    traces = [
        bar(
            names,
            [figures.detected[c.value, severity] for c in categories],
            name=severity.title(),
            urls=[url(c.value, severity) for c in categories],
            colour=SEVERITY_COLOURS[severity],
        )
        for severity in INCIDENT_SEVERITIES
    ]
    for category in categories:
        counts = [figures.detected[category.value, s] for s in INCIDENT_SEVERITIES]
        chart.rows.append(
            [
                str(category.label),
                *[(n, url(category.value, s)) for n, s in zip(counts, INCIDENT_SEVERITIES, strict=True)],
                (sum(counts), url(category.value)),
            ]
        )
    chart.figure = figure(traces, y_title="incidents", barmode="stack")
    return chart


def compliance_chart(scope: Scope, period: Period, context: Context) -> Chart:
    """Control compliance per framework, domain and team: live today, a past month from its snapshot."""
    from controls.metrics import Compliance, context_compliance

    state = context_compliance(context)
    when = (
        f"snapshot of {state.day.isoformat()}" if state.day else "today" if state.compliance else period.label
    )
    chart = Chart(
        key="compliance",
        title=f"Control compliance per framework, domain and team ({when})",
        formula=METRICS["control_compliance"].formula,
        headers=["Group", "Name", "Passing", "Applicable", "Compliance"],
    )
    if state.compliance is None:
        chart.empty = state.missing
        return chart
    compliance = state.compliance
    rows = sorted(compliance.rows.items(), key=lambda item: (item[0][0], item[0][2]))
    if not rows:
        chart.empty = "No control applies to anything in view yet."
        return chart
    names, shares, urls = [], [], []
    for (group, key, name), (passing, applicable) in rows:
        share = Compliance.share(passing, applicable)
        query = {
            k: v for k, v in {"team": scope.team, "environment": scope.environment, group: key}.items() if v
        }
        url = reverse("controls:assessments") + "?" + urlencode(query)
        chart.rows.append(
            [group, name, passing, applicable, (f"{share:g}%" if share is not None else "—", url)]
        )
        names.append(label(f"{group}: {name}"))
        shares.append(share)
        urls.append(url)
    chart.figure = figure(
        [bar(names, shares, name="Compliance %", urls=urls)],
        yaxis={"title": {"text": "% passing"}, "range": [0, 100]},
    )
    if state.day is not None:
        chart.note = (
            f"Recorded by the daily snapshot of {state.day.isoformat()}. A click lists those assessments"
            " as they stand today (assessments keep no history)."
        )
    return chart
