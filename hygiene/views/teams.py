from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from hygiene import selectors
from hygiene.forms import GuestForm, MembershipForm, TeamForm
from hygiene.lib.forms import add_validation_errors
from hygiene.lib.pagination import paginate
from hygiene.models import Membership
from hygiene.permissions import can_change, is_security_lead
from hygiene.services import teams as services


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    teams = selectors.team_list_for_user(user=request.user)
    form = TeamForm() if is_security_lead(request.user) else None
    return render(request, "hygiene/team_list.html", {"page": paginate(request, teams), "form": form})


@login_required
@require_POST
def team_create(request: HttpRequest) -> HttpResponse:
    form = TeamForm(request.POST)
    if form.is_valid():
        try:
            team = services.team_create(actor=request.user, **form.cleaned_data)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            return redirect("teams:list")
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"Team “{team.name}” created.")
            return redirect(team)
    teams = selectors.team_list_for_user(user=request.user)
    return render(
        request, "hygiene/team_list.html", {"page": paginate(request, teams), "form": form}, status=400
    )


@login_required
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    memberships = selectors.membership_list_for_team(user=request.user, team=team)
    manage = can_change(request.user, team, team_id=team.pk)
    form = MembershipForm(request.POST or None) if manage else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied(
                "Only the team's lead or champion, or a security lead, manage its members."
            )
        if form.is_valid():
            membership = services.membership_set(
                actor=request.user,
                team=team,
                user=form.cleaned_data["username"],
                role=form.cleaned_data["role"],
            )
            messages.success(
                request,
                f"{membership.user.get_username()} is now "
                f"{membership.get_role_display().lower()} of {team.name}.",
            )
            return redirect(team)
    context = {
        "team": team,
        "memberships": memberships,
        "form": form,
        "can_manage": manage,
        "guests": selectors.team_guest_list(team=team),
        "guest_form": GuestForm() if manage else None,
    }
    return render(
        request, "hygiene/team_detail.html", context, status=400 if form is not None and form.errors else 200
    )


@login_required
@require_POST
def membership_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    membership = get_object_or_404(Membership, pk=pk, team=team)
    services.membership_remove(actor=request.user, membership=membership)
    messages.success(request, f"{membership.user.get_username()} left {team.name}.")
    return redirect(team)


@login_required
@require_POST
def team_guest_add(request: HttpRequest, slug: str) -> HttpResponse:
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    form = GuestForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a person to grant access to.")
        return redirect(team)
    guest = form.cleaned_data["username"]
    services.team_guest_grant(actor=request.user, team=team, user=guest)
    messages.success(request, f"{guest.get_username()} can now see {team.name} (but not its assets).")
    return redirect(team)


@login_required
@require_POST
def team_guest_remove(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    guest = get_object_or_404(get_user_model(), pk=user_id)
    services.team_guest_revoke(actor=request.user, team=team, user=guest)
    messages.success(request, f"{guest.get_username()} no longer sees {team.name}.")
    return redirect(team)
