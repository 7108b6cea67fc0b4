"""The dashboards: the overview (home page), a team's view, the auditor's view, and each chart as CSV."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from assets.models import Environment
from assets.selectors import hidden_restricted_count_for_user
from findings.selectors import job_list_for_user, upload_team_options
from hygiene import selectors as hygiene_selectors
from hygiene.lib.exports import Echo, csv_rows
from hygiene.permissions import is_auditor, is_security_lead
from metrics.dashboard_cache import cached_content
from metrics.dashboards import Period, build_comparison, build_dashboard, parse_month
from metrics.selectors import Scope


def _scope(request: HttpRequest, *, team: str = "", exclude_restricted: bool = False) -> tuple[Scope, Period]:
    """The filters from the URL (team, environment, month), checked against what the person sees."""
    teams = {t.slug for t in hygiene_selectors.team_list_for_user(user=request.user)}
    chosen = team or request.GET.get("team", "")
    if chosen and chosen not in teams:
        if team:
            raise Http404("No such team.")
        messages.warning(request, "That team is not one you can see; showing all of yours instead.")
        chosen = ""
    environment = request.GET.get("environment", "")
    if environment not in Environment.values:
        environment = ""
    scope = Scope(
        user=request.user, team=chosen, environment=environment, exclude_restricted=exclude_restricted
    )
    return scope, Period.month(parse_month(request.GET.get("month")))


def _render(
    request: HttpRequest,
    template: str,
    scope: Scope,
    period: Period,
    *,
    fragment: dict[str, Any] | None = None,
    **extra: Any,
) -> HttpResponse:
    """The page around the dashboard, whose content (filters, tiles, charts, rankings) is kept per
    viewer and state of the data (``cached_content``): only the page's own parts are built per request."""
    teams = hygiene_selectors.team_list_for_user(user=request.user).order_by("name")
    flags = {"is_security_lead": is_security_lead(request.user), "is_auditor": is_auditor(request.user)}

    def content() -> str:
        context = {
            "dashboard": build_dashboard(scope, period),
            "teams": teams,
            "environments": Environment.choices,
            "month_value": period.start.strftime("%Y-%m"),
            "request": request,
            **flags,
            **(fragment or {}),
        }
        return render_to_string("metrics/_dashboard.html", context)

    dashboard_html = _safe(cached_content(request, template, content))
    return render(request, template, {"dashboard_html": dashboard_html, "teams": teams, **flags, **extra})


def _safe(html: str) -> SafeString:
    # Rendered by our own template with autoescaping on: every untrusted value in it is escaped.
    return mark_safe(html)  # noqa: S308


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """The home page: the programme at a glance for the teams the person sees."""
    scope, period = _scope(request, exclude_restricted=is_auditor(request.user))
    return _render(
        request,
        "metrics/overview.html",
        scope,
        period,
        memberships=hygiene_selectors.membership_list_for_user(user=request.user),
        recent_jobs=job_list_for_user(user=request.user).select_related("asset")[:5],
        may_upload=bool(upload_team_options(user=request.user)),
        hidden_restricted=hidden_restricted_count_for_user(user=request.user)
        if is_auditor(request.user)
        else 0,
    )


@login_required
def team_view(request: HttpRequest, slug: str) -> HttpResponse:
    scope, period = _scope(request, team=slug, exclude_restricted=is_auditor(request.user))
    team = hygiene_selectors.team_list_for_user(user=request.user).get(slug=slug)
    return _render(request, "metrics/team.html", scope, period, fragment={"team": team}, team=team)


@login_required
def auditor_view(request: HttpRequest) -> HttpResponse:
    """What an auditor sees: never restricted data, and how much was left out."""
    if not (is_auditor(request.user) or is_security_lead(request.user)):
        return render(
            request,
            "metrics/refused.html",
            {
                "reason": "The auditor view is for auditors and security leads;"
                " your overview is on the home page."
            },
            status=403,
        )
    scope, period = _scope(request, exclude_restricted=True)
    return _render(request, "metrics/auditor.html", scope, period, fragment={"auditor_view": True})


@login_required
def chart_csv(request: HttpRequest, key: str) -> StreamingHttpResponse:
    """One chart's numbers as CSV, with the same filters and permissions as the page."""
    scope, period = _scope(
        request, exclude_restricted=is_auditor(request.user) or request.GET.get("view") == "auditor"
    )
    charts = {chart.key: chart for chart in build_dashboard(scope, period).charts}
    chart = charts.get(key)
    if chart is None:
        raise Http404("No such chart.")
    rows = chart.csv_rows()
    response = StreamingHttpResponse(csv_rows(csv.writer(Echo()), rows[0], rows[1:]), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{key}-{period.start:%Y-%m}.csv"'
    return response


@login_required
def compare(request: HttpRequest) -> HttpResponse:
    """Periods side by side per team and per asset kind: who improves and who slips."""
    scope, period = _scope(request, exclude_restricted=is_auditor(request.user))

    def content() -> str:
        context = {
            "comparison": build_comparison(scope, period),
            "dashboard": {"scope": scope, "period": period},
            "environments": Environment.choices,
            "month_value": period.start.strftime("%Y-%m"),
            "request": request,
        }
        return render_to_string("metrics/_compare.html", context)

    compare_html = _safe(cached_content(request, "compare", content))
    return render(request, "metrics/compare.html", {"compare_html": compare_html})
