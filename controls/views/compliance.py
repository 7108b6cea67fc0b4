"""Compliance views, assessments with their evidence, and ownership gaps."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from controls import selectors
from controls.forms import AssessmentFilterForm, AssignForm, EvidenceForm
from controls.models import AssessmentStatus, Control, Mode
from controls.services.evidence import (
    EvidenceTooLarge,
    evidence_add,
    may_add_evidence,
    served_content_type,
    too_large_message,
)
from controls.services.ownership import may_assign, ownership_set
from controls.uploads import evidence_max_bytes
from controls.views import report_errors
from hygiene import selectors as hygiene_selectors
from hygiene.lib.forms import add_validation_errors
from hygiene.lib.pagination import paginate
from hygiene.lib.uploads import bounded_upload
from hygiene.models import Membership
from hygiene.permissions import can_contribute


def _teams(request: HttpRequest) -> list[tuple[str, str]]:
    return [(t.slug, t.name) for t in hygiene_selectors.team_list_for_user(user=request.user)]


@login_required
def compliance(request: HttpRequest) -> HttpResponse:
    overview = selectors.compliance_overview(user=request.user)
    return render(request, "controls/compliance.html", {"overview": overview, "statuses": AssessmentStatus})


@login_required
def assessment_list(request: HttpRequest) -> HttpResponse:
    form = AssessmentFilterForm(request.GET or None, teams=_teams(request))
    filters = form.filters() if request.GET else {}
    assessments = selectors.assessment_list_for_user(user=request.user, filters=filters)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "filters": filters,
        "page": paginate(request, assessments),
        "query": query.urlencode(),
    }
    return render(request, "controls/assessment_list.html", context)


def _assessment_context(
    request: HttpRequest, assessment: Any, form: EvidenceForm | None = None
) -> dict[str, Any]:
    user = request.user
    may_add = may_add_evidence(user, assessment) and assessment.status != AssessmentStatus.NOT_APPLICABLE
    exceptions = []
    if assessment.asset_id:
        exceptions = list(
            selectors.exception_list_for_user(user=user, filters={"asset": str(assessment.asset_id)}).filter(
                control=assessment.control
            )[:10]
        )
    return {
        "assessment": assessment,
        "control": assessment.control,
        "evidence": selectors.evidence_for_assessment(assessment=assessment),
        "evidence_form": (form or EvidenceForm()) if may_add else None,
        "max_size": f"{settings.HYGIENE_EVIDENCE_MAX_BYTES // (1024 * 1024)} MB",
        "exceptions": exceptions,
        "may_request_exception": bool(assessment.asset_id)
        and can_contribute(user, team_id=assessment.team_id)
        and assessment.status in (AssessmentStatus.FAILING, AssessmentStatus.NOT_ASSESSED),
        "is_attested": assessment.control.mode == Mode.ATTESTED,
    }


@login_required
def assessment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = selectors.assessment_get_for_user(user=request.user, pk=pk)
    return render(request, "controls/assessment_detail.html", _assessment_context(request, assessment))


def _refuse_too_large(request: HttpRequest) -> HttpResponse:
    return _too_large(request, int(request.resolver_match.kwargs["pk"]))  # type: ignore[union-attr]


@login_required
@require_POST
@bounded_upload(evidence_max_bytes, _refuse_too_large)
def evidence_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = selectors.assessment_get_for_user(user=request.user, pk=pk)
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            evidence_add(
                actor=request.user,
                assessment=assessment,
                kind=data["kind"],
                title=data["title"],
                file=data.get("file"),
                url=data.get("url") or "",
                text=data.get("text") or "",
                collected_on=data["collected_on"],
                expires_on=data.get("expires_on"),
            )
        except EvidenceTooLarge:
            return _too_large(request, pk)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            return redirect(assessment)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Evidence attached; the assessment was updated.")
            return redirect(assessment)
    messages.error(request, "The evidence was not attached: see what to correct below.")
    assessment = selectors.assessment_get_for_user(user=request.user, pk=pk)
    return render(
        request, "controls/assessment_detail.html", _assessment_context(request, assessment, form), status=400
    )


def _too_large(request: HttpRequest, pk: int) -> HttpResponse:
    messages.error(request, too_large_message())
    assessment = selectors.assessment_get_for_user(user=request.user, pk=pk)
    return render(
        request, "controls/assessment_detail.html", _assessment_context(request, assessment), status=413
    )


@login_required
def evidence_download(request: HttpRequest, pk: int) -> FileResponse:
    """An evidence file, always as a download: never rendered by the browser."""
    evidence = selectors.evidence_get_for_user(user=request.user, pk=pk)
    if not evidence.file:
        raise Http404("This evidence is not a file.")
    response = FileResponse(
        evidence.file.open("rb"),
        as_attachment=True,
        filename=evidence.filename or "evidence",
        content_type=served_content_type(evidence),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
def gaps(request: HttpRequest, slug: str = "") -> HttpResponse:
    team = hygiene_selectors.team_get_for_user(user=request.user, slug=slug) if slug else None
    found = selectors.gaps_for_user(user=request.user, team=team)
    teams = {gap.team.pk: gap.team for gap in found}
    people: dict[int, list[Any]] = {}
    assignable = {pk for pk, t in teams.items() if may_assign(request.user, t)}
    if assignable:
        memberships = Membership.objects.filter(team_id__in=assignable).select_related("user")
        # The champion first: the likeliest owner, so one click assigns them.
        rank = {"champion": 0, "lead": 1, "member": 2}
        for membership in sorted(memberships, key=lambda m: (rank.get(m.role, 3), m.user.username)):
            people.setdefault(membership.team_id, []).append(membership)
    context = {
        "team": team,
        "gaps": found,
        "people": people,
        "assignable": assignable,
        "teams": hygiene_selectors.team_list_for_user(user=request.user),
    }
    return render(request, "controls/gaps.html", context)


@login_required
@require_POST
def gap_assign(request: HttpRequest, slug: str) -> HttpResponse:
    team = hygiene_selectors.team_get_for_user(user=request.user, slug=slug)
    form = AssignForm(request.POST)
    back = request.POST.get("next") or "controls:gaps"
    if not form.is_valid():
        messages.error(request, "Choose the person who will own the control.")
        return redirect("controls:team-gaps", slug=team.slug)
    control = Control.objects.active().filter(pk=form.cleaned_data["control"]).first()
    owner = get_user_model().objects.filter(pk=form.cleaned_data["owner"]).first()
    if control is None or owner is None:
        messages.error(request, "That control or person does not exist.")
        return redirect("controls:team-gaps", slug=team.slug)
    try:
        ownership_set(actor=request.user, control=control, team=team, owner=owner)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        report_errors(request, exc)
    else:
        messages.success(request, f"{owner.get_username()} now owns {control.code} in {team.name}.")
    if back == "team":
        return redirect("controls:team-gaps", slug=team.slug)
    return redirect("controls:gaps")
