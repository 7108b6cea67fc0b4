"""The metrics in the auditors' app: a section of an engagement's workspace, evidence bundle and PDF
report holding every metric's value over the engagement's period, with its formula.

Values are read exactly as the dashboards read them (``metrics.dashboards.period_context``) as the
engagement's auditor inside the engagement, so the snapshots, incidents and controls counted are the
engagement's teams and environments, restricted data only when it opens them. Registered from
``MetricsConfig.ready``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from audits.sections import Figure, Section, SectionContext, section_register

COLUMNS = ("key", "metric", "area", "unit", "value", "items", "note", "formula")
# The figures shown at the top of the section (the overview's KPI tiles that have a value).
FIGURE_KEYS = ("mttd", "ttp_p50", "ttp_p90", "sla_compliance", "open_past_sla", "scan_coverage_30")


def _values(ctx: SectionContext) -> list[tuple[Any, Any]]:
    from metrics.dashboards import Period, period_context
    from metrics.definitions import METRICS, value_of
    from metrics.selectors import Scope

    last_day = (ctx.period.end - dt.timedelta(days=1)).date()
    period = Period(ctx.period.start.date(), last_day)
    context = period_context(Scope(user=ctx.user), period)
    return [(metric, value_of(metric, context)) for metric in METRICS.values()]


def _rows(ctx: SectionContext) -> Iterator[Sequence[Any]]:
    for metric, value in _values(ctx):
        yield (
            metric.key,
            metric.label,
            metric.area,
            metric.unit,
            None if value is None else value.value,
            None if value is None else value.count,
            "not available" if value is None else value.note,
            metric.formula,
        )


def _shown(unit: str, value: Any) -> str:
    if value is None or value.value is None:
        return "n/a"
    return {"days": f"{value.value:g} d", "percent": f"{value.value:g}%"}.get(unit, f"{value.value:g}")


def _figures(ctx: SectionContext) -> list[Figure]:
    values = {metric.key: (metric, value) for metric, value in _values(ctx)}
    return [
        Figure(metric.label, _shown(metric.unit, value), metric.formula)
        for metric, value in (values[key] for key in FIGURE_KEYS)
    ]


def install() -> None:
    from metrics.definitions import METRICS

    section_register(
        Section(
            key="metrics",
            title="Metrics over the period",
            columns=COLUMNS,
            rows=_rows,
            count=lambda ctx: len(METRICS),
            figures=_figures,
        )
    )
