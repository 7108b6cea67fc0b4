"""The inventory pages: list, detail, create, edit, retire."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from assets import selectors
from assets.forms import AssetFilterForm, AssetForm, EdgeForm, TransformationForm
from assets.models import Asset, AssetKind, DatasetProvenance, EdgeKind
from assets.selectors import contributable_team_choices, visible_team_choices
from assets.services import asset_create, asset_retire, asset_update
from assets.services.assets import may_change_asset
from findings.selectors import asset_scan_summary_for_user
from hygiene import selectors as hygiene_selectors
from hygiene.lib.forms import add_validation_errors
from hygiene.lib.pagination import paginate
from hygiene.permissions import can_contribute, token_allows

SORTABLE = [
    ("name", "Name"),
    ("kind", "Kind"),
    ("environment", "Environment"),
    ("team", "Team"),
    ("classification", "Classification"),
    ("criticality", "Criticality"),
    ("updated", "Updated"),
]


def _sort_links(filters: dict[str, str], query: str) -> list[dict[str, str]]:
    current = filters.get("sort") or "name"
    links = []
    base = "&".join(part for part in query.split("&") if part and not part.startswith("sort="))
    for key, label in SORTABLE:
        active = current.lstrip("-") == key
        next_sort = key if not active or current.startswith("-") else f"-{key}"
        direction = "none" if not active else ("descending" if current.startswith("-") else "ascending")
        links.append(
            {
                "key": key,
                "label": label,
                "href": f"?{base}&sort={next_sort}" if base else f"?sort={next_sort}",
                "aria_sort": direction,
            }
        )
    return links


@login_required
def asset_list(request: HttpRequest) -> HttpResponse:
    form = AssetFilterForm(request.GET or None, teams=visible_team_choices(request.user))
    filters = form.filters()
    assets = selectors.asset_list_for_user(user=request.user, filters=filters)
    query = request.GET.copy()
    query.pop("page", None)
    encoded = query.urlencode()
    context = {
        "form": form,
        "page": paginate(request, assets),
        "query": encoded,
        "counts": selectors.asset_counts_for_user(user=request.user, filters=filters),
        "columns": _sort_links(filters, encoded),
        "filtered": any(key != "sort" for key in filters),
        "may_create": bool(contributable_team_choices(request.user)),
    }
    return render(request, "assets/list.html", context)


@login_required
def asset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    asset = selectors.asset_get_for_user(user=request.user, pk=pk)
    return render(request, "assets/detail.html", detail_context(request, asset))


def detail_context(request: HttpRequest, asset: Asset, **forms: Any) -> dict[str, Any]:
    user = request.user
    changeable = may_change_asset(user, asset)
    is_dataset = asset.kind == AssetKind.DATASET
    graph = selectors.lineage_graph_for_user(user=user, asset=asset)
    context: dict[str, Any] = {
        "asset": asset,
        "may_change": changeable,
        "effective_source": selectors.effective_source_for_user(user=user, asset=asset),
        "upstream": selectors.upstream_edges_for_user(user=user, asset=asset),
        "downstream": selectors.downstream_edges_for_user(user=user, asset=asset),
        "graph": graph.as_json(),
        "graph_summary": graph,
        "violations": selectors.violation_list_for_user(user=user, filters={"asset": str(asset.pk)}),
        "edge_kinds": EdgeKind.choices,
        "scans": asset_scan_summary_for_user(user=user, asset=asset),
        "may_upload": can_contribute(user, team_id=asset.team_id) and token_allows(user, "write"),
    }
    if changeable:
        context["edge_form"] = forms.get("edge_form") or EdgeForm()
        context["asset_options"] = selectors.asset_options_for_user(user=user, near=asset)
    if is_dataset:
        context["provenance"] = DatasetProvenance.objects.filter(dataset=asset).first()
        transformations = selectors.transformations_for_dataset(user=user, dataset=asset)
        context["transformations"] = paginate(request, transformations, per_page=20)
        if can_contribute(user, team_id=asset.team_id):
            context["transformation_form"] = forms.get("transformation_form") or TransformationForm()
    return context


def _asset_values(request: HttpRequest, form: AssetForm) -> dict[str, Any]:
    values = dict(form.cleaned_data)
    values["team"] = hygiene_selectors.team_get_for_user(user=request.user, slug=values["team"])
    return values


@login_required
def asset_create_view(request: HttpRequest) -> HttpResponse:
    teams = contributable_team_choices(request.user)
    if not teams:
        raise PermissionDenied("Only members of a team can add assets to its inventory.")
    form = AssetForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        try:
            asset = asset_create(actor=request.user, **_asset_values(request, form))
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"{asset.get_kind_display()} “{asset.name}” added to {asset.team}.")
            return redirect(asset)
    status = 400 if form.errors else 200
    return render(request, "assets/form.html", {"form": form, "asset": None}, status=status)


@login_required
def asset_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    asset = selectors.asset_get_for_user(user=request.user, pk=pk)
    if not may_change_asset(request.user, asset):
        raise PermissionDenied(f"Only members of {asset.team}, or a security lead, can change this asset.")
    teams = contributable_team_choices(request.user)
    if (asset.team.slug, asset.team.name) not in teams:
        teams.insert(0, (asset.team.slug, asset.team.name))
    form = AssetForm(request.POST or None, teams=teams, initial=AssetForm.initial_for(asset))
    if request.method == "POST" and form.is_valid():
        try:
            asset = asset_update(actor=request.user, asset=asset, **_asset_values(request, form))
        except ValidationError as exc:
            add_validation_errors(form, exc)
        except PermissionDenied as exc:  # lowering the classification needs a champion or lead
            form.add_error("classification", str(exc))
        else:
            messages.success(request, f"“{asset.name}” saved.")
            return redirect(asset)
    status = 400 if form.errors else 200
    return render(request, "assets/form.html", {"form": form, "asset": asset}, status=status)


@login_required
@require_POST
def asset_retire_view(request: HttpRequest, pk: int) -> HttpResponse:
    asset = selectors.asset_get_for_user(user=request.user, pk=pk)
    try:
        asset_retire(actor=request.user, asset=asset)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"“{asset.name}” retired; it no longer counts in the policy checks.")
    return redirect(asset)
