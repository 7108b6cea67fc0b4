"""The monthly control compliance trend: each past month as the daily control snapshot recorded it at
the month's end (the newest snapshot on or before it), the current month live, as the KPI tile reads
them. Assessments keep no history, so months before the first snapshot have no point and say so.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse

from metrics import selectors
from metrics.charts import Chart, figure, line
from metrics.dashboards import Period, last_months
from metrics.definitions import METRICS, Context
from metrics.selectors import Scope

STATUSES = (
    ("passing", "Passing"),
    ("failing", "Failing"),
    ("not_assessed", "Not assessed"),
    ("excepted", "Excepted"),
)


def assessments_url(scope: Scope, **params: str) -> str:
    """The assessment list behind a number: the scope's team and environment, and ``params``."""
    query = {"team": scope.team, "environment": scope.environment, **params}
    return reverse("controls:assessments") + "?" + urlencode({k: v for k, v in query.items() if v})


def monthly_compliance(
    scope: Scope, months: list[Period], context: Context
) -> list[tuple[str, dict[str, int] | None]]:
    """Per month: where its figures come from (live, a snapshot day) and the assessments counted
    per status with ``applicable`` (None: no snapshot on or before its end)."""
    from controls.metrics import context_compliance

    past = [month for month in months if not month.includes_today]
    latest = selectors.control_latest_days(scope, ends=[month.end for month in past])
    totals = selectors.control_totals(scope, days=sorted({day for day in latest.values() if day}))
    result: list[tuple[str, dict[str, int] | None]] = []
    for month in months:
        if month.includes_today:
            live = context_compliance(context).compliance
            counts = dict(live.statuses) if live is not None else {}
            counts["applicable"] = live.applicable if live is not None else 0
            result.append(("live", counts))
            continue
        day = latest[month.end]
        if day is None:
            result.append(("", None))
        else:
            result.append((f"snapshot of {day.isoformat()}", totals.get(day, {})))
    return result


def compliance_trend_chart(scope: Scope, period: Period, context: Context) -> Chart:
    months = last_months(period)
    chart = Chart(
        key="compliance-trend",
        title="Control compliance, by month",
        formula=(
            f"{METRICS['control_compliance'].formula} A past month is its last day's daily snapshot (or"
            " the newest one before it); the current month is live."
        ),
        headers=["Month", "Read from", *[name for _, name in STATUSES], "Applicable", "Compliance (%)"],
    )
    x: list[str] = []
    y: list[float] = []
    urls: list[str] = []
    missing = 0
    for month, (source, counts) in zip(months, monthly_compliance(scope, months, context), strict=True):
        if counts is None:
            missing += 1
            chart.rows.append([month.label, "no history", *["—"] * (len(STATUSES) + 2)])
            continue
        applicable = counts.get("applicable", 0)
        passing = counts.get("passing", 0)
        share = round(100 * passing / applicable, 1) if applicable else None
        url = assessments_url(scope)
        chart.rows.append(
            [
                month.label,
                source,
                *[(counts.get(key, 0), assessments_url(scope, status=key)) for key, _ in STATUSES],
                applicable,
                (share if share is not None else "—", url),
            ]
        )
        if share is not None:
            x.append(month.label)
            y.append(share)
            urls.append(url)
    if not x:
        chart.empty = _missing_sentence(scope) if missing else "No control applied to anything in view."
        return chart
    chart.figure = figure(
        [line(x, y, name="Passing (%)", urls=urls, colour="#15803d")],
        yaxis={"title": {"text": "% passing"}, "range": [0, 100]},
    )
    notes = ["A click lists the applicable assessments as they stand today (assessments keep no history)."]
    if missing:
        notes.insert(0, _missing_sentence(scope))
    chart.note = " ".join(notes)
    return chart


def _missing_sentence(scope: Scope) -> str:
    from controls.metrics import no_history

    return no_history("compliance", first_day=selectors.control_first_day(scope))
