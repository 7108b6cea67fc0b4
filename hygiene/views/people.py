"""Security leads give people their global role and end auditors' access at a date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from hygiene import selectors
from hygiene.lib.forms import DateInput
from hygiene.lib.pagination import paginate
from hygiene.permissions import is_security_lead, sees_all_teams
from hygiene.roles import AUDITOR, GLOBAL_ROLES
from hygiene.services.teams import user_set_global_role


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=[(role, role) for role in GLOBAL_ROLES])
    access_until = forms.DateField(
        required=False,
        widget=DateInput(),
        help_text="Required for auditors: their access ends at the end of this day.",
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("role") == AUDITOR and not data.get("access_until"):
            self.add_error("access_until", "Auditors' access must end at a date.")
        return data

    def access_expires_at(self) -> dt.datetime | None:
        day = self.cleaned_data.get("access_until")
        if not day:
            return None
        return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=timezone.get_current_timezone())


def _rows(people: Any) -> list[dict[str, Any]]:
    """Each person with the role and end of access the row's form starts from."""
    return [
        {
            "person": person,
            "role": selectors.person_global_role(person),
            "until": person.profile.access_expires_at if hasattr(person, "profile") else None,
        }
        for person in people
    ]


@login_required
def people_list(request: HttpRequest) -> HttpResponse:
    if not sees_all_teams(request.user):
        raise PermissionDenied("The people page is for security leads and auditors.")
    search = request.GET.get("q", "").strip()
    people = selectors.people_list_for_user(user=request.user, search=search)
    page = paginate(request, people)
    context = {
        "page": page,
        "rows": _rows(page.object_list),
        "search": search,
        "query": f"q={search}" if search else "",
        "can_edit": is_security_lead(request.user),
        "roles": GLOBAL_ROLES,
    }
    return render(request, "hygiene/people.html", context)


@login_required
@require_POST
def person_set_role(request: HttpRequest, user_id: int) -> HttpResponse:
    # Checked before the person is looked up, so nobody else learns who is behind an id.
    if not is_security_lead(request.user):
        raise PermissionDenied("Only security leads grant global roles.")
    person = get_object_or_404(get_user_model(), pk=user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(error for errors in form.errors.values() for error in errors)
        messages.error(request, f"{person.get_username()}: {errors}")
        return redirect("people:list")
    changed = user_set_global_role(
        actor=request.user,
        user=person,
        role=form.cleaned_data["role"],
        access_expires_at=form.access_expires_at(),
    )
    if not changed:
        messages.info(request, f"Nothing changed for {person.get_username()}.")
    else:
        until = form.cleaned_data["access_until"]
        ends = f", access until {until:%-d %b %Y}" if until else ", access without end date"
        messages.success(request, f"{person.get_username()} is now {form.cleaned_data['role']}{ends}.")
    return redirect("people:list")
