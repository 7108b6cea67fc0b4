"""Metric values and time series through the API, read through the same selectors as the dashboards."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assets.models import Environment
from hygiene import selectors as hygiene_selectors
from hygiene.permissions import is_auditor
from metrics import selectors
from metrics.dashboard_cache import cached_content
from metrics.dashboards import Period, last_months, parse_month, period_context
from metrics.definitions import METRICS, Metric, MetricValue, is_available, pending_reason, value_of
from metrics.selectors import Scope

FILTERS = [
    OpenApiParameter("team", str, description="A team's slug (default: every team you see)."),
    OpenApiParameter("environment", str, enum=Environment.values),
    OpenApiParameter("month", str, description="YYYY-MM (default: this month)."),
]
# Metrics whose daily value is a plain sum or state of that day's snapshot rows.
DAILY: dict[str, tuple[str, str]] = {
    "open": ("findings", "open"),
    "open_past_sla": ("findings", "open_past_sla"),
    "discovered": ("findings", "new"),
    "patched": ("findings", "patched"),
    "scan_coverage_7": ("coverage", "scanned_7"),
    "scan_coverage_30": ("coverage", "scanned_30"),
    "classified_share": ("coverage", "classified"),
}


class ValueSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    note = serializers.CharField()
    count = serializers.IntegerField(allow_null=True)


class MetricSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    area = serializers.CharField()
    unit = serializers.CharField()
    formula = serializers.CharField()
    better = serializers.CharField()
    available = serializers.BooleanField()
    unavailable_reason = serializers.CharField()
    period = serializers.CharField()
    value = ValueSerializer(allow_null=True)
    previous_month = ValueSerializer(allow_null=True)
    same_month_last_year = ValueSerializer(allow_null=True)


class PointSerializer(serializers.Serializer):
    period = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField(allow_null=True)


class SeriesSerializer(serializers.Serializer):
    key = serializers.CharField()
    interval = serializers.ChoiceField(choices=["day", "month"])
    points = PointSerializer(many=True)


def _scope(request: Request) -> tuple[Scope, Period]:
    team = request.query_params.get("team", "")
    if team and not hygiene_selectors.team_list_for_user(user=request.user).filter(slug=team).exists():
        raise Http404("No such team.")
    environment = request.query_params.get("environment", "")
    if environment and environment not in Environment.values:
        raise ValidationError({"environment": f"Choose one of {', '.join(Environment.values)}."})
    scope = Scope(
        user=request.user, team=team, environment=environment, exclude_restricted=is_auditor(request.user)
    )
    return scope, Period.month(parse_month(request.query_params.get("month")))


def _value(value: MetricValue | None) -> dict[str, Any] | None:
    return None if value is None else {"value": value.value, "note": value.note, "count": value.count}


def _metric(key: str) -> Metric:
    metric = METRICS.get(key)
    if metric is None:
        raise Http404("No such metric.")
    return metric


class MetricListView(APIView):
    """Every metric with its formula and its value for the period, the month before and a year before."""

    @extend_schema(parameters=FILTERS, responses=MetricSerializer(many=True))
    def get(self, request: Request) -> Response:
        scope, period = _scope(request)

        def values() -> list[dict[str, Any]]:
            contexts = _contexts(scope, period)
            return [_describe(metric, period, contexts) for metric in METRICS.values()]

        return Response(cached_content(request, "api", values))


class MetricDetailView(APIView):
    @extend_schema(parameters=FILTERS, responses=MetricSerializer)
    def get(self, request: Request, key: str) -> Response:
        metric = _metric(key)
        scope, period = _scope(request)
        return Response(
            cached_content(request, "api", lambda: _describe(metric, period, _contexts(scope, period)))
        )


def _contexts(scope: Scope, period: Period) -> list[Any]:
    return [period_context(scope, p) for p in (period, period.previous(), period.year_before())]


def _describe(metric: Metric, period: Period, contexts: list[Any]) -> dict[str, Any]:
    current, previous, last_year = (value_of(metric, context) for context in contexts)
    available = is_available(metric)
    return {
        "key": metric.key,
        "label": metric.label,
        "area": metric.area,
        "unit": metric.unit,
        "formula": metric.formula,
        "better": metric.better,
        "available": available,
        "unavailable_reason": "" if available else pending_reason(metric),
        "period": period.start.strftime("%Y-%m"),
        "value": _value(current),
        "previous_month": _value(previous),
        "same_month_last_year": _value(last_year),
    }


class MetricSeriesView(APIView):
    """A metric over time: by day (counts and shares read from each day's snapshot) or by month."""

    @extend_schema(
        parameters=[
            *FILTERS,
            OpenApiParameter("interval", str, enum=["day", "month"], description="Default: month."),
            OpenApiParameter("from", dt.date, description="First day (interval=day; default 30 days ago)."),
            OpenApiParameter("to", dt.date, description="Last day (interval=day; default today)."),
        ],
        responses=SeriesSerializer,
    )
    def get(self, request: Request, key: str) -> Response:
        metric = _metric(key)
        if not is_available(metric):
            return Response({"key": key, "interval": "month", "points": [], "detail": pending_reason(metric)})
        scope, period = _scope(request)
        interval = request.query_params.get("interval", "month")
        if interval not in ("day", "month"):
            raise ValidationError({"interval": "Choose day or month."})
        if interval == "day":
            points = cached_content(request, "api", lambda: _daily(request, scope, key))
        else:
            points = cached_content(request, "api", lambda: _monthly(metric, scope, period))
        return Response({"key": key, "interval": interval, "points": points})


def _monthly(metric: Metric, scope: Scope, period: Period) -> list[dict[str, Any]]:
    points = []
    for month in last_months(period):
        value = value_of(metric, period_context(scope, month))
        points.append(
            {
                "period": month.start.strftime("%Y-%m"),
                "value": value and value.value,
                "count": value and value.count,
            }
        )
    return points


def _daily(request: Request, scope: Scope, key: str) -> list[dict[str, Any]]:
    if key not in DAILY and key != "control_compliance":
        raise ValidationError({"interval": f"{key} is a period estimate: ask for interval=month."})
    today = selectors.today()
    try:
        end = dt.date.fromisoformat(request.query_params.get("to") or today.isoformat())
        start = dt.date.fromisoformat(
            request.query_params.get("from") or (end - dt.timedelta(days=29)).isoformat()
        )
    except ValueError as exc:
        raise ValidationError({"from": "Dates are YYYY-MM-DD."}) from exc
    if (end - start).days > 800 or end < start:
        raise ValidationError({"from": "Ask for at most 800 days, from before to."})
    if key == "control_compliance":
        return _compliance_daily(scope, start=start, end=end)
    source, field = DAILY[key]
    points = []
    if source == "findings":
        series = selectors.finding_daily_series(scope, start=start, end=end, fields=(field,))
        for day, values in series.items():
            total = sum(values[field].values())
            points.append({"period": day.isoformat(), "value": total, "count": total})
    else:
        coverage = selectors.coverage_daily_series(scope, start=start, end=end)
        for day, values in sorted(coverage.items()):
            active = values["active"]
            share = round(100 * values[field] / active, 1) if active else None
            points.append({"period": day.isoformat(), "value": share, "count": active})
    return points


def _compliance_daily(scope: Scope, *, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Each day's control compliance as its daily snapshot recorded it (days without one have none:
    assessments keep no history)."""
    days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    points = []
    for day, totals in sorted(selectors.control_totals(scope, days=days).items()):
        applicable = totals["applicable"]
        share = round(100 * totals["passing"] / applicable, 1) if applicable else None
        points.append({"period": day.isoformat(), "value": share, "count": applicable})
    return points
