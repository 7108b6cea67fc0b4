"""Lineage and provenance actions of the asset page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from assets import selectors
from assets.forms import EdgeForm, ProvenanceForm, TransformationForm
from assets.models import AssetKind, DatasetProvenance
from assets.services import edge_add, edge_remove, provenance_set, transformation_append
from assets.services.assets import may_change_asset
from assets.views.inventory import detail_context
from hygiene.lib.forms import add_validation_errors


@login_required
@require_POST
def edge_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    asset = selectors.asset_get_for_user(user=request.user, pk=pk)
    form = EdgeForm(request.POST)
    if form.is_valid():
        direction, kind = form.direction_and_kind()
        try:
            other_pk, name = form.reference()
            other = selectors.asset_find_for_user(user=request.user, pk=other_pk, name=name)
            source, target = (other, asset) if direction == "up" else (asset, other)
            edge = edge_add(actor=request.user, source=source, target=target, kind=kind)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(
                request, f"Recorded: {edge.target.name} {edge.downstream_phrase} {edge.source.name}."
            )
            return redirect(asset)
    messages.error(request, "The link was not added; see the form below.")
    return render(request, "assets/detail.html", detail_context(request, asset, edge_form=form), status=400)


@login_required
@require_POST
def edge_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    edge = selectors.edge_get_for_user(user=request.user, pk=pk)
    back = (request.POST.get("back") == "source" and edge.source) or edge.target
    edge_remove(actor=request.user, edge=edge)
    messages.success(request, f"Removed: {edge.target.name} {edge.downstream_phrase} {edge.source.name}.")
    return redirect(back)


@login_required
def provenance_view(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = selectors.asset_get_for_user(user=request.user, pk=pk)
    if not may_change_asset(request.user, dataset):
        raise PermissionDenied(f"Only members of {dataset.team}, or a security lead, can record provenance.")
    if dataset.kind != AssetKind.DATASET:
        messages.error(request, "Provenance is recorded for datasets only.")
        return redirect(dataset)
    current = DatasetProvenance.objects.filter(dataset=dataset).first()
    initial = {field: getattr(current, field) for field in ProvenanceForm.base_fields} if current else {}
    form = ProvenanceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            provenance_set(actor=request.user, dataset=dataset, **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"Provenance of “{dataset.name}” saved.")
            return redirect(dataset)
    status = 400 if form.errors else 200
    return render(request, "assets/provenance_form.html", {"form": form, "asset": dataset}, status=status)


@login_required
@require_POST
def transformation_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = selectors.asset_get_for_user(user=request.user, pk=pk)
    form = TransformationForm(request.POST)
    if form.is_valid():
        try:
            transformation_append(actor=request.user, dataset=dataset, **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Transformation logged.")
            return redirect(dataset)
    messages.error(request, "The transformation was not logged; see the form below.")
    context = detail_context(request, dataset, transformation_form=form)
    return render(request, "assets/detail.html", context, status=400)
