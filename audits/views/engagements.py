"""Engagement pages: the list, opening one (security leads), the auditor's workspace, ending and leaving."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from audits import selectors
from audits.forms import EngagementForm
from audits.middleware import SESSION_KEY
from audits.models import Engagement
from audits.sections import sections
from audits.services.bundles import may_request_bundle
from audits.services.engagements import engagement_end, engagement_open
from hygiene.lib.forms import add_validation_errors
from hygiene.permissions import engagement_enter, is_auditor, is_security_lead, sees_all_teams


def refuse(request: HttpRequest, reason: str, *, status: int = 403) -> HttpResponse:
    """A styled refusal that says why."""
    return render(request, "audits/refused.html", {"reason": reason}, status=status)


@login_required
def engagement_list(request: HttpRequest) -> HttpResponse:
    if not sees_all_teams(request.user):
        return refuse(request, "Audit engagements are for security leads and auditors.")
    engagements = selectors.engagement_list_for_user(user=request.user)
    return render(
        request,
        "audits/engagement_list.html",
        {"engagements": engagements, "may_open": is_security_lead(request.user)},
    )


@login_required
def engagement_create(request: HttpRequest) -> HttpResponse:
    if not is_security_lead(request.user):
        return refuse(request, "Only security leads open audit engagements.")
    auditors = selectors.auditor_choices()
    form = EngagementForm(request.POST or None, auditors=auditors)
    if request.method == "POST" and form.is_valid():
        try:
            engagement = engagement_open(actor=request.user, **form.service_arguments())
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"Engagement “{engagement.name}” opened for {engagement.auditor}.")
            return redirect(engagement)
    status = 400 if request.method == "POST" else 200
    return render(request, "audits/engagement_form.html", {"form": form, "auditors": auditors}, status=status)


@login_required
def engagement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The workspace. The auditor opening it starts working inside the engagement (its scope)."""
    engagement = selectors.engagement_get_for_user(user=request.user, pk=pk)
    is_own = engagement.auditor_id == request.user.pk
    if is_own and not engagement.is_active:
        request.session.pop(SESSION_KEY, None)
        return refuse(
            request,
            f"The engagement “{engagement.name}” ended on {engagement.access_end:%d %b %Y %H:%M}; "
            "its scope is "
            "no longer open to you. Ask a security lead to open a new engagement.",
        )
    if is_own and is_auditor(request.user) and request.session.get(SESSION_KEY) != engagement.pk:
        request.session[SESSION_KEY] = engagement.pk
        engagement_enter(request.user, selectors.engagement_scope_of(engagement))
        request.engagement = engagement  # type: ignore[attr-defined]
        messages.info(request, f"You now work inside “{engagement.name}”: every page shows its scope.")
    return render(request, "audits/workspace.html", _workspace_context(request, engagement))


def _workspace_context(request: HttpRequest, engagement: Engagement) -> dict[str, Any]:
    ctx = selectors.section_context(engagement, user=request.user)
    parts = [
        {
            "key": section.key,
            "title": section.title,
            "figures": section.figures(ctx),
            "has_evidence": section.evidence is not None,
        }
        for section in sections()
    ]
    audit_query = f"since={engagement.period_start.isoformat()}&until={engagement.period_end.isoformat()}"
    return {
        "engagement": engagement,
        "sections": parts,
        "bundles": selectors.bundle_list_for_engagement(engagement=engagement)[:10],
        "may_bundle": may_request_bundle(request.user, engagement),
        "may_end": is_security_lead(request.user) and engagement.is_active,
        "audit_log_url": f"{reverse('audit:log')}?{audit_query}",
        "pending": [title for key, title in _pending().items() if key not in {s["key"] for s in parts}],
    }


def _pending() -> dict[str, str]:
    from audits.services.report import PENDING_SECTIONS

    return PENDING_SECTIONS


@login_required
@require_POST
def engagement_leave(request: HttpRequest, pk: int) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    messages.info(request, "You left the engagement; restricted data is hidden again.")
    return redirect("audits:list")


@login_required
@require_POST
def engagement_finish(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = selectors.engagement_get_for_user(user=request.user, pk=pk)
    try:
        engagement_end(actor=request.user, engagement=engagement)
    except PermissionDenied as exc:
        return refuse(request, str(exc))
    messages.success(
        request, f"“{engagement.name}” ended: {engagement.auditor}'s access to its scope stopped."
    )
    return redirect(engagement)
