"""Exceptions: request one for findings or for a control on an asset, decide, withdraw."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from controls import selectors
from controls.forms import DecisionForm, ExceptionFilterForm, ExceptionRequestForm
from controls.models import ExceptionStatus
from controls.services.exceptions import (
    exception_approve,
    exception_reject,
    exception_request,
    exception_withdraw,
    latest_expiry,
    max_days,
    may_decide,
    worst_severity,
)
from controls.views import report_errors
from findings.selectors import finding_list_for_user
from hygiene import selectors as hygiene_selectors
from hygiene.lib.forms import add_validation_errors
from hygiene.lib.pagination import paginate
from hygiene.permissions import can_change, can_contribute, sees_all_teams


@login_required
def exception_list(request: HttpRequest) -> HttpResponse:
    teams = [(t.slug, t.name) for t in hygiene_selectors.team_list_for_user(user=request.user)]
    form = ExceptionFilterForm(request.GET or None, teams=teams)
    filters = form.cleaned_data if request.GET and form.is_valid() else {}
    exceptions = selectors.exception_list_for_user(user=request.user, filters=filters)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": paginate(request, exceptions), "query": query.urlencode()}
    return render(request, "controls/exception_list.html", context)


def _subject(request: HttpRequest, data: Any) -> dict[str, Any]:
    """What the request is for: findings (by id) or an assessment (a control on an asset)."""
    finding_ids = [int(v) for v in data.getlist("finding") if str(v).isdigit()]
    assessment_id = data.get("assessment", "")
    if finding_ids:
        findings = list(finding_list_for_user(user=request.user).filter(pk__in=finding_ids)[:500])
        severity = worst_severity(sorted({f.severity for f in findings})) if findings else "low"
        return {"findings": findings, "assessment": None, "severity": severity}
    if str(assessment_id).isdigit():
        assessment = selectors.assessment_get_for_user(user=request.user, pk=int(assessment_id))
        return {"findings": [], "assessment": assessment, "severity": ""}
    return {"findings": [], "assessment": None, "severity": ""}


@login_required
def exception_request_view(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    subject = _subject(request, data)
    if not subject["findings"] and subject["assessment"] is None:
        messages.error(request, "Start a request from a finding or from a failing control on an asset.")
        return redirect("controls:exceptions")
    team_id = subject["findings"][0].team_id if subject["findings"] else subject["assessment"].team_id
    if not can_contribute(request.user, team_id=team_id):
        raise PermissionDenied("Only members of the owning team can request exceptions for its assets.")
    initial = {
        "finding": [f.pk for f in subject["findings"]],
        "assessment": subject["assessment"].pk if subject["assessment"] else None,
        "risk_rating": subject["severity"]
        if subject["severity"] in ("critical", "high", "medium", "low")
        else "",
    }
    form = ExceptionRequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        assessment = subject["assessment"]
        try:
            exception = exception_request(
                actor=request.user,
                title=values["title"],
                justification=values["justification"],
                compensating_controls=values["compensating_controls"],
                risk_rating=values["risk_rating"],
                expires_on=values["expires_on"],
                finding_ids=[f.pk for f in subject["findings"]],
                asset=assessment.asset if assessment else None,
                control=assessment.control if assessment else None,
            )
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(
                request, f"Exception #{exception.pk} requested; the team's approvers have been told."
            )
            return redirect(exception)
    bound_severity = subject["severity"] or form.data.get("risk_rating") or initial["risk_rating"] or "low"
    context = {
        "form": form,
        "findings": subject["findings"],
        "assessment": subject["assessment"],
        "max_days": max_days(bound_severity),
        "latest": latest_expiry(bound_severity),
        "bound_severity": bound_severity,
    }
    return render(request, "controls/exception_form.html", context, status=400 if form.errors else 200)


@login_required
def exception_detail(request: HttpRequest, pk: int) -> HttpResponse:
    exception = selectors.exception_get_for_user(user=request.user, pk=pk)
    pending = exception.status == ExceptionStatus.REQUESTED
    is_requester = exception.requested_by_id == request.user.pk
    context = {
        "exception": exception,
        "findings": selectors.exception_findings(exception=exception),
        "decision_form": DecisionForm() if pending and may_decide(request.user, exception) else None,
        "own_request": pending and is_requester,
        "sees_audit_log": sees_all_teams(request.user),
        "may_withdraw": exception.status in (ExceptionStatus.REQUESTED, ExceptionStatus.APPROVED)
        and (is_requester or can_change(request.user, exception, team_id=exception.team_id)),
    }
    return render(request, "controls/exception_detail.html", context)


def _decide(request: HttpRequest, pk: int, approve: bool) -> HttpResponse:
    exception = selectors.exception_get_for_user(user=request.user, pk=pk)
    form = DecisionForm(request.POST)
    comment = form.data.get("comment", "") if form.is_valid() else ""
    try:
        if approve:
            exception_approve(actor=request.user, exception=exception, comment=comment)
        else:
            exception_reject(actor=request.user, exception=exception, comment=comment)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        report_errors(request, exc)
    else:
        verb = "approved: its findings are risk accepted" if approve else "rejected"
        messages.success(request, f"Exception #{exception.pk} {verb}.")
    return redirect(exception)


@login_required
@require_POST
def exception_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, approve=True)


@login_required
@require_POST
def exception_reject_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, approve=False)


@login_required
@require_POST
def exception_withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    exception = selectors.exception_get_for_user(user=request.user, pk=pk)
    try:
        exception_withdraw(actor=request.user, exception=exception)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        report_errors(request, exc)
    else:
        messages.success(request, f"Exception #{exception.pk} withdrawn; what it covered is open again.")
    return redirect(exception)
