"""The control catalogue and the frameworks: browse for everyone, edit for security leads."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from controls import selectors
from controls.forms import ControlForm, MappingForm
from controls.models import ControlMapping, ControlOwnership, Domain, Mode, Requirement
from controls.rules import RULES
from controls.services.assessments import applicability_text
from controls.services.controls import (
    control_create,
    control_restore,
    control_retire,
    control_update,
    mapping_add,
    mapping_remove,
    may_manage_controls,
)
from controls.services.ownership import may_assign, ownership_set
from controls.views import report_errors
from hygiene import selectors as hygiene_selectors
from hygiene.lib.forms import add_validation_errors
from hygiene.models import Membership, TeamRole
from hygiene.permissions import sees_all_teams


def _require_lead(request: HttpRequest) -> None:
    if not may_manage_controls(request.user):
        raise PermissionDenied("Only security leads can change the control catalogue.")


@login_required
def control_list(request: HttpRequest) -> HttpResponse:
    filters = {key: request.GET.get(key, "") for key in ("domain", "mode", "q", "retired")}
    controls = list(selectors.control_list(filters=filters))
    tallies = selectors.tallies_by_control(user=request.user)
    rows = [(control, tallies.get(control.pk)) for control in controls]
    context = {
        "rows": rows,
        "filters": filters,
        "domains": Domain.choices,
        "modes": Mode.choices,
        "may_manage": may_manage_controls(request.user),
    }
    return render(request, "controls/control_list.html", context)


@login_required
def control_detail(request: HttpRequest, code: str) -> HttpResponse:
    control = selectors.control_get(code=code)
    may_manage = may_manage_controls(request.user)
    context: dict[str, Any] = {
        "control": control,
        "applies_to": applicability_text(control),
        "rule": RULES.get(control.rule),
        "mappings": selectors.control_mappings(control=control),
        "ownerships": selectors.ownerships_for_control(user=request.user, control=control),
        "tally": selectors.tallies_by_control(user=request.user).get(control.pk),
        "may_manage": may_manage,
        "sees_audit_log": sees_all_teams(request.user),
        "owner_forms": _owner_forms(request, control),
    }
    if may_manage:
        frameworks = [(f.slug, f.name) for f in selectors.framework_list()]
        context["mapping_form"] = MappingForm(frameworks=frameworks)
    return render(request, "controls/control_detail.html", context)


def _owner_forms(request: HttpRequest, control: Any) -> list[dict[str, Any]]:
    """For each team whose owners the person may name: the team's people and the current choice."""
    if not control.is_active:
        return []
    teams = [
        t for t in hygiene_selectors.team_list_for_user(user=request.user) if may_assign(request.user, t)
    ]
    current = {o.team_id: o for o in ControlOwnership.objects.filter(control=control, team__in=teams)}
    people: dict[int, list[Any]] = {}
    champions: dict[int, int] = {}
    memberships = Membership.objects.filter(team__in=teams).select_related("user").order_by("user__username")
    for membership in memberships:
        people.setdefault(membership.team_id, []).append(membership.user)
        if membership.role == TeamRole.CHAMPION:
            champions.setdefault(membership.team_id, membership.user_id)
    forms = []
    for team in teams:
        ownership = current.get(team.pk)
        forms.append(
            {
                "team": team,
                "people": people.get(team.pk, []),
                "owner_id": ownership.owner_id if ownership else None,
                # Unassigned: the team's champion is the likely champion of the control.
                "champion_id": ownership.champion_id if ownership else champions.get(team.pk),
            }
        )
    return [form for form in forms if form["people"]]


@login_required
@require_POST
def ownership_edit_view(request: HttpRequest, code: str) -> HttpResponse:
    control = selectors.control_get(code=code)
    team = hygiene_selectors.team_get_for_user(user=request.user, slug=request.POST.get("team", ""))
    owner = _person(request.POST.get("owner"))
    champion = _person(request.POST.get("champion"))
    try:
        ownership_set(actor=request.user, control=control, team=team, owner=owner, champion=champion)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        report_errors(request, exc)
    else:
        messages.success(request, f"Owners of {control.code} in {team.name} saved.")
    return redirect(control)


def _person(value: str | None) -> Any:
    """The person a form names by id; anything that is not an id names nobody (never a server error)."""
    if not value or not value.isdigit():
        return None
    return get_user_model().objects.filter(pk=int(value)).first()


def _values(form: ControlForm) -> dict[str, Any]:
    values = dict(form.cleaned_data)
    values.pop("code", None)
    return values


@login_required
def control_create_view(request: HttpRequest) -> HttpResponse:
    _require_lead(request)
    form = ControlForm(
        request.POST or None, initial={"cadence_days": 90, "scope": "asset", "rule": "evidence"}
    )
    if request.method == "POST" and form.is_valid():
        try:
            control = control_create(actor=request.user, code=form.cleaned_data["code"], **_values(form))
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"{control.code} added; it is being assessed.")
            return redirect(control)
    return render(request, "controls/control_form.html", {"form": form, "control": None})


@login_required
def control_edit_view(request: HttpRequest, code: str) -> HttpResponse:
    _require_lead(request)
    control = selectors.control_get(code=code)
    initial = {field: getattr(control, field) for field in ControlForm.base_fields if field != "code"}
    form = ControlForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            control_update(actor=request.user, control=control, **_values(form))
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"{control.code} saved; it is being re-assessed.")
            return redirect(control)
    return render(request, "controls/control_form.html", {"form": form, "control": control})


@login_required
@require_POST
def control_retire_view(request: HttpRequest, code: str) -> HttpResponse:
    _require_lead(request)
    control = selectors.control_get(code=code)
    action = control_restore if request.POST.get("restore") else control_retire
    try:
        action(actor=request.user, control=control)
    except ValidationError as exc:
        report_errors(request, exc)
    else:
        messages.success(
            request, f"{control.code} {'restored' if control.retired_at is None else 'retired'}."
        )
    return redirect(control)


@login_required
@require_POST
def mapping_add_view(request: HttpRequest, code: str) -> HttpResponse:
    _require_lead(request)
    control = selectors.control_get(code=code)
    form = MappingForm(request.POST, frameworks=[(f.slug, f.name) for f in selectors.framework_list()])
    if not form.is_valid():
        messages.error(request, "Choose a framework and give a requirement identifier.")
        return redirect(control)
    requirement = (
        Requirement.objects.filter(
            framework__slug=form.cleaned_data["framework"],
            identifier__iexact=form.cleaned_data["requirement"].strip(),
        ).first()
        or Requirement.objects.filter(
            framework__slug=form.cleaned_data["framework"],
            label__iexact=form.cleaned_data["requirement"].strip(),
        ).first()
    )
    if requirement is None:
        messages.error(request, f"No requirement “{form.cleaned_data['requirement']}” in that framework.")
        return redirect(control)
    try:
        mapping_add(actor=request.user, control=control, requirement=requirement)
    except ValidationError as exc:
        report_errors(request, exc)
    else:
        messages.success(request, f"{control.code} now maps to {requirement.display_id}.")
    return redirect(control)


@login_required
@require_POST
def mapping_remove_view(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    _require_lead(request)
    control = selectors.control_get(code=code)
    mapping = get_object_or_404(ControlMapping.objects.select_related("requirement"), pk=pk, control=control)
    mapping_remove(actor=request.user, mapping=mapping)
    messages.success(request, f"Mapping to {mapping.requirement.display_id} removed.")
    return redirect(control)


@login_required
def framework_list_view(request: HttpRequest) -> HttpResponse:
    overview = selectors.compliance_overview(user=request.user)
    tallies = {row.key: row.tally for row in overview["frameworks"]}
    frameworks = [(f, tallies.get(f.slug)) for f in selectors.framework_list()]
    return render(request, "controls/framework_list.html", {"frameworks": frameworks})


@login_required
def framework_detail(request: HttpRequest, slug: str) -> HttpResponse:
    framework = selectors.framework_get(slug=slug)
    group = request.GET.get("group", "")
    nodes, top_only = selectors.framework_tree(user=request.user, framework=framework, group=group)
    context = {
        "framework": framework,
        "group": group,
        "top_only": top_only,
        "rows": nodes if top_only else selectors.flatten(nodes),
        "total": sum((n.tally.passing for n in nodes), 0),
    }
    return render(request, "controls/framework_detail.html", context)
