"""Classification levels (readable by all, edited by security leads) and the policy violations page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from assets import selectors
from assets.forms import LevelForm, ViolationFilterForm
from assets.models import PolicyRule
from assets.services import level_create, level_update
from assets.services.classification import LEVEL_FIELDS, may_edit_levels
from hygiene.lib.forms import add_validation_errors
from hygiene.lib.pagination import paginate


@login_required
def level_list_view(request: HttpRequest) -> HttpResponse:
    counts = selectors.level_counts_for_user(user=request.user)
    levels = [(level, counts.get(level.pk, 0)) for level in selectors.level_list()]
    context = {
        "levels": levels,
        "unclassified": counts.get(None, 0),
        "may_edit": may_edit_levels(request.user),
    }
    return render(request, "assets/levels.html", context)


@login_required
def level_create_view(request: HttpRequest) -> HttpResponse:
    if not may_edit_levels(request.user):
        raise PermissionDenied("Only security leads change classification levels.")
    form = LevelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            level = level_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"Level “{level.name}” added.")
            return redirect("assets:levels")
    status = 400 if form.errors else 200
    return render(request, "assets/level_form.html", {"form": form, "level": None}, status=status)


@login_required
def level_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not may_edit_levels(request.user):
        raise PermissionDenied("Only security leads change classification levels.")
    level = selectors.level_get(pk=pk)
    initial = {field: getattr(level, field) for field in LEVEL_FIELDS}
    form = LevelForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            level = level_update(actor=request.user, level=level, **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"Level “{level.name}” saved; assets that use it were re-evaluated.")
            return redirect("assets:levels")
    status = 400 if form.errors else 200
    return render(request, "assets/level_form.html", {"form": form, "level": level}, status=status)


@login_required
def violation_list_view(request: HttpRequest) -> HttpResponse:
    form = ViolationFilterForm(request.GET or None, teams=selectors.visible_team_choices(request.user))
    violations = selectors.violation_list_for_user(user=request.user, filters=form.filters())
    counts = selectors.violation_counts_for_user(user=request.user)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": paginate(request, violations),
        "query": query.urlencode(),
        "rule_counts": [(value, label, counts.get(value, 0)) for value, label in PolicyRule.choices],
    }
    return render(request, "assets/violations.html", context)
