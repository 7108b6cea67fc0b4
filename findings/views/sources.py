"""Scan source pages: list, settings with the latest pulls, create, edit, delete, pull now."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from findings import selectors
from findings.forms import FolderGrantForm, ScanSourceForm
from findings.models import ScanSource
from findings.services import folders as folder_services
from findings.services import sources as services
from hygiene import selectors as hygiene_selectors
from hygiene.lib.forms import add_validation_errors
from hygiene.lib.pagination import paginate
from hygiene.permissions import (
    MANAGING_ROLES,
    can_change,
    can_contribute,
    is_security_lead,
    member_team_ids,
)


def _manageable_teams(request: HttpRequest) -> list[tuple[str, str]]:
    teams = hygiene_selectors.team_list_for_user(user=request.user)
    if not is_security_lead(request.user):
        teams = teams.filter(pk__in=member_team_ids(request.user, roles=MANAGING_ROLES))
    return [(team.slug, team.name) for team in teams]


def _form(request: HttpRequest, data: Any = None, initial: dict[str, Any] | None = None) -> ScanSourceForm:
    from assets.selectors import visible_assets

    teams = _manageable_teams(request)
    assets = visible_assets(request.user).filter(team__slug__in=[slug for slug, _ in teams])
    asset_choices = [(a.pk, f"{a.name} ({a.team.name})") for a in assets.select_related("team")[:500]]
    return ScanSourceForm(data, initial=initial, teams=teams, assets=asset_choices)


def _save(request: HttpRequest, form: ScanSourceForm, source: ScanSource | None) -> ScanSource | None:
    from assets.selectors import asset_get_for_user

    values = dict(form.cleaned_data)
    team = hygiene_selectors.team_get_for_user(user=request.user, slug=values.pop("team"))
    asset_id = values.pop("asset")
    asset = asset_get_for_user(user=request.user, pk=asset_id) if asset_id else None
    try:
        if source is None:
            return services.source_create(actor=request.user, team=team, asset=asset, **values)
        return services.source_update(actor=request.user, source=source, asset=asset, **values)
    except ValidationError as exc:
        add_validation_errors(form, exc)
    return None


@login_required
def source_list(request: HttpRequest) -> HttpResponse:
    sources = selectors.source_list_for_user(user=request.user)
    context = {"page": paginate(request, sources), "can_create": bool(_manageable_teams(request))}
    return render(request, "findings/source_list.html", context)


@login_required
def source_create(request: HttpRequest) -> HttpResponse:
    if not _manageable_teams(request):
        raise PermissionDenied("Only team champions and leads, and security leads, add scan sources.")
    form = _form(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        source = _save(request, form, None)
        if source is not None:
            messages.success(request, f"Scan source “{source.name}” added; workers pull it every "
                                      f"{source.interval_minutes} minutes.")  # fmt: skip
            return redirect("findings:source", pk=source.pk)
    status = 400 if form.errors else 200
    return render(request, "findings/source_form.html", {"form": form, "source": None}, status=status)


@login_required
def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    source = selectors.source_get_for_user(user=request.user, pk=pk)
    context = {
        "source": source,
        "jobs": selectors.source_job_list(source=source),
        "pulls": selectors.source_pull_log(source=source),
        "can_manage": can_change(request.user, source, team_id=source.team_id),
        "can_pull": can_contribute(request.user, team_id=source.team_id),
    }
    return render(request, "findings/source_detail.html", context)


@login_required
def source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    source = selectors.source_get_for_user(user=request.user, pk=pk)
    if not can_change(request.user, source, team_id=source.team_id):
        raise PermissionDenied("Only the team's champion or lead, or a security lead, edit its scan sources.")
    initial = {
        "name": source.name,
        "kind": source.kind,
        "location": source.location,
        "team": source.team.slug,
        "asset": source.asset_id,
        "format": source.format,
        "interval_minutes": source.interval_minutes,
        "enabled": source.enabled,
    }
    form = _form(request, request.POST or None, initial=initial)
    form.fields["team"].disabled = True
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, source)
        if saved is not None:
            messages.success(request, f"Scan source “{saved.name}” saved.")
            return redirect("findings:source", pk=saved.pk)
    status = 400 if form.errors else 200
    return render(request, "findings/source_form.html", {"form": form, "source": source}, status=status)


@login_required
@require_POST
def source_delete(request: HttpRequest, pk: int) -> HttpResponse:
    source = selectors.source_get_for_user(user=request.user, pk=pk)
    services.source_delete(actor=request.user, source=source)
    messages.success(request, f"Scan source “{source.name}” deleted; its imports and findings stay.")
    return redirect("findings:sources")


@login_required
@require_POST
def source_pull(request: HttpRequest, pk: int) -> HttpResponse:
    source = selectors.source_get_for_user(user=request.user, pk=pk)
    services.source_request_pull(actor=request.user, source=source)
    messages.success(request, f"Pull of “{source.name}” requested; new imports appear below as they start.")
    return redirect("findings:source", pk=source.pk)


# ---- drop folders and folder grants ----------------------------------------------------------------


def _folders_page(
    request: HttpRequest, form: FolderGrantForm | None = None, status: int = 200
) -> HttpResponse:
    from findings.services.folders import team_drop_folders

    teams = selectors.drop_folder_teams(user=request.user)
    may_grant = is_security_lead(request.user)
    if may_grant and form is None:
        form = FolderGrantForm(teams=[(team.slug, team.name) for team in teams])
    context = {
        "teams": [(team, team_drop_folders(team)) for team in teams],
        "grants": selectors.folder_grant_list_for_user(user=request.user),
        "may_grant": may_grant,
        "form": form,
    }
    return render(request, "findings/folders.html", context, status=status)


@login_required
def drop_folders(request: HttpRequest) -> HttpResponse:
    """Each team's own drop folder, and the folders security leads granted to teams."""
    if request.method != "POST":
        return _folders_page(request)
    if not is_security_lead(request.user):
        raise PermissionDenied("Only a security lead grants drop folders to teams.")
    teams = selectors.drop_folder_teams(user=request.user)
    form = FolderGrantForm(request.POST, teams=[(team.slug, team.name) for team in teams])
    if form.is_valid():
        team = hygiene_selectors.team_get_for_user(user=request.user, slug=form.cleaned_data["team"])
        try:
            grant = folder_services.folder_grant_add(
                actor=request.user, team=team, path=form.cleaned_data["path"]
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"{team.name}'s folder sources may now read {grant.path}.")
            return redirect("findings:folders")
    return _folders_page(request, form, status=400)


@login_required
@require_POST
def folder_grant_remove(request: HttpRequest, pk: int) -> HttpResponse:
    grant = selectors.folder_grant_get_for_user(user=request.user, pk=pk)
    folder_services.folder_grant_remove(actor=request.user, grant=grant)
    messages.success(
        request, f"{grant.team.name} no longer has {grant.path}; its sources there stop pulling."
    )
    return redirect("findings:folders")
