"""The incidents' metrics, valued for the metrics app's registry (``register_provider``).

Incidents keep every time of their lifecycle, so any past period is computed from the incidents
themselves, read through ``visible_incidents`` (the one door): a member counts their teams' incidents,
an auditor the unrestricted ones, as on the incidents list. Durations follow the incident page's
definitions (``incidents.selectors.Durations``). Registered from ``IncidentsConfig.ready``.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

# metric key -> (label, start field, end field): the stage reached at ``end``.
DURATIONS = {
    "incident_mttd": ("detected", "occurred_at", "detected_at"),
    "incident_mtta": ("acknowledged", "reported_at", "acknowledged_at"),
    "incident_mttc": ("contained", "detected_at", "contained_at"),
    "incident_mttr": ("resolved", "detected_at", "resolved_at"),
}
DAY = 86400.0


@dataclass
class IncidentFigures:
    """One period's incident numbers for one viewer."""

    # metric key -> durations in days of the incidents that reached the stage in the period
    durations: dict[str, list[float]] = field(default_factory=dict)
    # metric key -> incidents detected by the period's end that had not reached the stage by then
    not_reached: dict[str, int] = field(default_factory=dict)
    open_by_severity: Counter[str] = field(default_factory=Counter)
    open_by_category: Counter[str] = field(default_factory=Counter)
    # incidents detected in the period, by (category, severity)
    detected: Counter[tuple[str, str]] = field(default_factory=Counter)


def bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end] as datetimes: from the first day's midnight to the midnight after the last."""
    zone = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
    )


def scoped_incidents(scope: Any) -> QuerySet[Any]:
    """The incidents the scope's viewer sees, narrowed to its team and environment."""
    from incidents.models import IncidentAsset
    from incidents.selectors import visible_incidents

    incidents = visible_incidents(scope.user)
    if scope.team:
        incidents = incidents.filter(team__slug=scope.team)
    if scope.environment:
        touched = IncidentAsset.objects.filter(asset__environment=scope.environment).values("incident_id")
        incidents = incidents.filter(pk__in=touched)
    if scope.exclude_restricted:
        incidents = incidents.filter(is_restricted=False)
    return incidents


def incident_figures(scope: Any, *, start: dt.date, end: dt.date) -> IncidentFigures:
    """The period's figures, in one read of the incidents that touch it."""
    since, until = bounds(start, end)
    names = ("category", "severity", "occurred_at", "detected_at", "reported_at", "acknowledged_at")
    names += ("contained_at", "resolved_at")
    rows = (
        scoped_incidents(scope)
        .filter(detected_at__lt=until)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=since) | Q(detected_at__gte=since))
        .order_by()
        .values_list(*names)
    )
    figures = IncidentFigures(
        durations={key: [] for key in DURATIONS}, not_reached=dict.fromkeys(DURATIONS, 0)
    )
    for row in rows:
        values = dict(zip(names, row, strict=True))
        if values["detected_at"] >= since:
            figures.detected[values["category"], values["severity"]] += 1
        resolved = values["resolved_at"]
        if resolved is None or resolved >= until:
            figures.open_by_severity[values["severity"]] += 1
            figures.open_by_category[values["category"]] += 1
        for key, (_label, first, last) in DURATIONS.items():
            began, reached = values[first], values[last]
            if reached is not None and since <= reached < until and began is not None:
                figures.durations[key].append(max(0.0, (reached - began).total_seconds() / DAY))
            elif reached is None or reached >= until:
                figures.not_reached[key] += 1
    return figures


def _figures(context: Any) -> IncidentFigures:
    return context.cached(
        "incidents", lambda: incident_figures(context.scope, start=context.start, end=context.end)
    )


def _duration(key: str) -> Any:
    from metrics.definitions import MetricValue

    label = DURATIONS[key][0]

    def provider(context: Any) -> Any:
        figures = _figures(context)
        days = figures.durations[key]
        waiting = figures.not_reached[key]
        pending = f"; {waiting} not {label} yet" if waiting else ""
        if not days:
            return MetricValue(value=None, note=f"no incident {label} in the period{pending}", count=0)
        mean = round(statistics.fmean(days), 2)
        median = round(statistics.median(days), 2)
        note = f"mean {mean:g} d, median {median:g} d over {len(days)} incident(s){pending}"
        return MetricValue(value=mean, note=note, count=len(days))

    return provider


def _open(context: Any) -> Any:
    from metrics.definitions import MetricValue

    figures = _figures(context)
    total = sum(figures.open_by_severity.values())
    parts = [f"{n} {severity}" for severity, n in figures.open_by_severity.most_common()]
    return MetricValue(value=total, note=", ".join(parts), count=total)


def install() -> None:
    from django.apps import apps

    if not apps.is_installed("metrics"):
        return
    from metrics.definitions import register_provider

    for key in DURATIONS:
        register_provider(key, _duration(key))
    register_provider("incidents_open", _open)
