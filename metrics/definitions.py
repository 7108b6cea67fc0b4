"""Every metric, defined once: its name, its formula in words (shown beside its chart and in the API)
and how its value is read from the snapshots.

The registry is open: the controls and incidents apps register their metrics' values when they land
(``register_provider``); until then those metrics are listed with their definitions and say what they
wait for, and no number is shown for them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps

from hygiene.lib.survival import kaplan_meier, quantile

SEVERITIES = ("critical", "high", "medium", "low")


@dataclass(frozen=True)
class MetricValue:
    value: float | None
    # Beside the number: how many items it rests on, how many are still open, what is unknown.
    note: str = ""
    count: int | None = None


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    area: str  # findings, coverage, incidents, controls
    unit: str  # days, percent, count
    formula: str
    better: str = "lower"  # which way is an improvement, for the trend arrows
    needs_app: str = ""  # the app that provides its data, when it is not this one
    history: bool = True  # False: read live (the data keeps no history for it)


class Lazy:
    """A value computed on first use: a metric reads only the summaries it needs (one API metric need
    not compute every summary of three periods), and never the same one twice in a request."""

    def __init__(self, compute: Callable[[], Any]) -> None:
        self._compute: Callable[[], Any] | None = compute
        self._value: Any = None

    @property
    def value(self) -> Any:
        if self._compute is not None:
            self._value, self._compute = self._compute(), None
        return self._value

    @property
    def computed(self) -> bool:
        return self._compute is None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.value, name)


class LazyLive:
    """Today's live numbers, each group of keys computed by one query on first use."""

    def __init__(self) -> None:
        self._groups: dict[str, list[Lazy]] = {}

    def add(self, keys: tuple[str, ...], compute: Callable[[], dict[str, Any]]) -> None:
        """Keys added again by a narrower (cheaper) query are read from it, unless a wider group
        holding them was computed already."""
        group = Lazy(compute)
        for key in keys:
            self._groups.setdefault(key, []).append(group)

    def get(self, key: str, default: Any = None) -> Any:
        groups = self._groups.get(key)
        if not groups:
            return default
        computed = [group for group in groups if group.computed]
        return (computed or groups)[-1].value.get(key, default)


@dataclass
class Context:
    """What a metric value is read from: the period's summaries, built once per request."""

    findings: Any  # metrics.selectors.FindingSummary
    coverage: Any  # metrics.selectors.CoverageSummary
    live: Any = field(default_factory=dict)  # a dict or a LazyLive: read with .get
    # Who is looking and the period's days: the apps' providers read their own data through it.
    scope: Any = None  # metrics.selectors.Scope
    start: dt.date | None = None
    end: dt.date | None = None
    # What a provider computed once for the period, shared by its metrics (key -> value).
    cache: dict[str, Any] = field(default_factory=dict)

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


Provider = Callable[[Context], MetricValue]
METRICS: dict[str, Metric] = {}
_PROVIDERS: dict[str, Provider] = {}


def register(metric: Metric, provider: Provider | None = None) -> Metric:
    METRICS[metric.key] = metric
    if provider is not None:
        _PROVIDERS[metric.key] = provider
    return metric


def register_provider(key: str, provider: Provider) -> None:
    """How an app that lands later (controls, incidents) supplies the value of a listed metric."""
    _PROVIDERS[key] = provider


def is_available(metric: Metric) -> bool:
    if metric.needs_app and not apps.is_installed(metric.needs_app):
        return False
    return metric.key in _PROVIDERS


def value_of(metric: Metric, context: Context) -> MetricValue | None:
    """The metric's value, or None when its data does not exist yet (never a made-up number)."""
    if not is_available(metric):
        return None
    return _PROVIDERS[metric.key](context)


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 1)


# ---- findings --------------------------------------------------------------------------------------

TTP_FORMULA = (
    "Time to patch = mitigated − first seen, per episode (a finding reopened twice has three). Median"
    " and 90th percentile are a Kaplan–Meier estimate: episodes patched in the period are events;"
    " episodes still open at its end (at their age) and those closed as false positive or risk"
    " accepted in it (at their duration) are censored, so open items count and are never dropped."
    " False positives and risk-accepted findings are not patched."
)


def _ttp(severity: str | None, q: str) -> Provider:
    def provider(context: Context) -> MetricValue:
        summary = context.findings
        events = summary.histogram("patch_days", severity)
        censored = summary.histogram("censored_days", severity) + summary.histogram("open_days", severity)
        estimate = kaplan_meier(events, censored)
        value = estimate.p50 if q == "p50" else estimate.p90
        note = f"{estimate.events} patched, {estimate.censored} open or closed unpatched"
        if value is None and estimate.total:
            note = f"not reached: {note}"
        return MetricValue(value=value, note=note, count=estimate.total)

    return provider


for _severity in (None, *SEVERITIES):
    for _q, _label in (("p50", "median"), ("p90", "90th percentile")):
        _suffix = f"_{_severity}" if _severity else ""
        register(
            Metric(
                key=f"ttp_{_q}{_suffix}",
                label=f"Time to patch, {_label}" + (f" ({_severity})" if _severity else ""),
                area="findings",
                unit="days",
                formula=TTP_FORMULA,
            ),
            _ttp(_severity, _q),
        )


def _mttd(context: Context) -> MetricValue:
    summary = context.findings
    histogram = summary.histogram("detect_days")
    unknown = summary.total("detect_unknown")
    count = sum(histogram.values())
    return MetricValue(
        value=quantile(histogram, 0.5), note=f"{count} with a published date, {unknown} without", count=count
    )


register(
    Metric(
        key="mttd",
        label="Time to detect, median",
        area="findings",
        unit="days",
        formula=(
            "Time to detect = first seen (the scan time from the file) − advisory published, for the"
            " findings first seen in the period whose advisory date is known; those without one are"
            " counted beside it, not dropped silently."
        ),
    ),
    _mttd,
)


def _mttd_kev(context: Context) -> MetricValue:
    histogram = context.findings.histogram("kev_detect_days")
    count = sum(histogram.values())
    return MetricValue(value=quantile(histogram, 0.5), note=f"{count} KEV findings", count=count)


register(
    Metric(
        key="mttd_kev",
        label="Time to detect KEV, median",
        area="findings",
        unit="days",
        formula=(
            "For findings in CISA's KEV catalogue first seen in the period: first seen − date added to"
            " KEV (0 when found before it was listed)."
        ),
    ),
    _mttd_kev,
)


def _sla_compliance(context: Context) -> MetricValue:
    summary = context.findings
    within, late = summary.total("patched_in_sla"), summary.total("patched_late")
    no_sla = summary.total("patched_no_sla")
    return MetricValue(
        value=_share(within, within + late),
        note=f"{within} of {within + late} within SLA; {no_sla} without an SLA",
        count=within + late,
    )


register(
    Metric(
        key="sla_compliance",
        label="SLA compliance",
        area="findings",
        unit="percent",
        better="higher",
        formula=(
            "Share of the findings patched in the period that were patched on or before the SLA due date"
            " frozen when they closed. Findings with no SLA (info) are counted beside it."
        ),
    ),
    _sla_compliance,
)


def _open_past_sla(context: Context) -> MetricValue:
    live = context.live.get("open_past_sla")
    value = live if live is not None else context.findings.total("open_past_sla")
    return MetricValue(value=value, count=value)


register(
    Metric(
        key="open_past_sla",
        label="Open past SLA",
        area="findings",
        unit="count",
        formula="Findings open at the end of the period whose SLA due date is before that day (live today).",
    ),
    _open_past_sla,
)


def _open(context: Context) -> MetricValue:
    live = context.live.get("open")
    value = live if live is not None else context.findings.total("open")
    return MetricValue(value=value, count=value)


register(
    Metric(
        key="open",
        label="Open findings",
        area="findings",
        unit="count",
        formula="Findings open at the end of the period (live today), by age band: days since first seen.",
    ),
    _open,
)


def _exposure(context: Context) -> MetricValue:
    histogram = context.findings.histogram("exposure_days")
    count = sum(histogram.values())
    return MetricValue(
        value=quantile(histogram, 0.5), note=f"{count} patched with a published date", count=count
    )


register(
    Metric(
        key="exposure_window",
        label="Exposure window, median",
        area="findings",
        unit="days",
        formula=(
            "Exposure window = mitigated − advisory published, for episodes patched in the period"
            " where known."
        ),
    ),
    _exposure,
)


def _discovered(context: Context) -> MetricValue:
    value = context.findings.total("new")
    return MetricValue(value=value, note=f"{context.findings.total('reopened')} reopened", count=value)


register(
    Metric(
        key="discovered",
        label="Discovered",
        area="findings",
        unit="count",
        better="lower",
        formula="Findings first seen in the period (reopened ones are counted beside it).",
    ),
    _discovered,
)


def _patched(context: Context) -> MetricValue:
    value = context.findings.total("patched")
    return MetricValue(
        value=value, note=f"{context.findings.total('closed_unpatched')} closed unpatched", count=value
    )


register(
    Metric(
        key="patched",
        label="Patched",
        area="findings",
        unit="count",
        better="higher",
        formula="Episodes ended in the period by a scan that no longer reports the finding.",
    ),
    _patched,
)

# ---- coverage --------------------------------------------------------------------------------------


def _coverage(days: int) -> Provider:
    def provider(context: Context) -> MetricValue:
        totals = context.coverage.totals
        active = totals.get("active", 0)
        scanned = totals.get(f"scanned_{days}", 0)
        return MetricValue(
            value=_share(scanned, active), note=f"{scanned} of {active} active assets", count=active
        )

    return provider


for _days in (7, 30):
    register(
        Metric(
            key=f"scan_coverage_{_days}",
            label=f"Scanned within {_days} days",
            area="coverage",
            unit="percent",
            better="higher",
            formula=(
                f"Share of the assets active at the end of the period with a finished import whose scan"
                f" time is within the {_days} days before; per asset kind and check type in the matrix."
            ),
        ),
        _coverage(_days),
    )


def _classified(context: Context) -> MetricValue:
    totals = context.coverage.totals
    active, classified = totals.get("active", 0), totals.get("classified", 0)
    return MetricValue(value=_share(classified, active), note=f"{classified} of {active}", count=active)


register(
    Metric(
        key="classified_share",
        label="Classified",
        area="coverage",
        unit="percent",
        better="higher",
        formula="Share of active assets with a declared classification level.",
    ),
    _classified,
)


def _champions(context: Context) -> MetricValue:
    teams, with_champion = context.live.get("teams", 0), context.live.get("teams_with_champion", 0)
    return MetricValue(
        value=_share(with_champion, teams), note=f"{with_champion} of {teams} teams", count=teams
    )


register(
    Metric(
        key="champion_share",
        label="Teams with a champion",
        area="coverage",
        unit="percent",
        better="higher",
        history=False,
        formula=(
            "Share of the teams in view with at least one security champion"
            " (live: memberships keep no history)."
        ),
    ),
    _champions,
)

# ---- controls and incidents: defined now, valued by their apps when they land ----------------------

_PENDING = [
    (
        "controls_owner_share",
        "Controls with an owner",
        "controls",
        "percent",
        "higher",
        "Share of the baseline's controls that have an owner, per control and team in view. Today live;"
        " a past period reads the daily control snapshot at its end (ownership keeps no history).",
    ),
    (
        "control_compliance",
        "Control compliance",
        "controls",
        "percent",
        "higher",
        "Share of applicable control assessments passing (passing over passing, failing, not assessed"
        " and excepted), per framework, domain and team. Today live; a past period reads the daily control"
        " snapshot at its end (assessments keep no history, so there is none before the first snapshot).",
    ),
    (
        "evidence_fresh",
        "Evidence fresh",
        "controls",
        "percent",
        "higher",
        "Share of evidence items not past their expiry.",
    ),
    (
        "exceptions_open",
        "Exceptions open",
        "controls",
        "count",
        "lower",
        "Risk acceptances in force at the end of the period.",
    ),
    (
        "exceptions_expiring",
        "Exceptions expiring within 30 days",
        "controls",
        "count",
        "lower",
        "Exceptions in force whose expiry is within 30 days of the end of the period.",
    ),
    (
        "exceptions_expired",
        "Exceptions expired",
        "controls",
        "count",
        "lower",
        "Exceptions past their expiry in the period.",
    ),
    (
        "incidents_open",
        "Open incidents",
        "incidents",
        "count",
        "lower",
        "Incidents detected by the end of the period and not resolved by then, by category and severity.",
    ),
    (
        "incident_mttd",
        "Incident time to detect",
        "incidents",
        "days",
        "lower",
        "Mean (the value) and median (beside it) of detected − occurred, over the incidents detected in"
        " the period.",
    ),
    (
        "incident_mtta",
        "Incident time to acknowledge",
        "incidents",
        "days",
        "lower",
        "Mean and median of acknowledged − reported, over the incidents acknowledged in the period;"
        " those not acknowledged yet are counted beside it, never averaged in.",
    ),
    (
        "incident_mttc",
        "Incident time to contain",
        "incidents",
        "days",
        "lower",
        "Mean and median of contained − detected, over the incidents contained in the period; those"
        " not contained yet are counted beside it.",
    ),
    (
        "incident_mttr",
        "Incident time to resolve",
        "incidents",
        "days",
        "lower",
        "Mean and median of resolved − detected, over the incidents resolved in the period; those not"
        " resolved yet are counted beside it.",
    ),
]
for _key, _label, _app, _unit, _better, _formula in _PENDING:
    register(
        Metric(
            key=_key, label=_label, area=_app, unit=_unit, better=_better, formula=_formula, needs_app=_app
        )
    )


def pending_reason(metric: Metric) -> str:
    if metric.needs_app and not apps.is_installed(metric.needs_app):
        return f"Appears when the {metric.needs_app} app is installed."
    return "Not computed yet."


def trend(metric: Metric, now: MetricValue | None, before: MetricValue | None) -> str:
    """ "better", "worse", "same" or "" (no comparison), by the metric's direction."""
    if now is None or before is None or now.value is None or before.value is None:
        return ""
    if now.value == before.value:
        return "same"
    improved = now.value < before.value if metric.better == "lower" else now.value > before.value
    return "better" if improved else "worse"


def period_label(start: dt.date) -> str:
    return start.strftime("%B %Y")
