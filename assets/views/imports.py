"""Importing the inventory (CycloneDX BOM, CSV) and exporting the filtered list (CSV, JSON)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from assets import selectors
from assets.bom import BomRejected
from assets.csv_io import CsvRejected, export_csv, export_json, template_csv
from assets.forms import AssetFilterForm
from assets.models import Asset, Environment
from assets.selectors import contributable_team_choices, visible_team_choices
from assets.services.exports import asset_export
from assets.services.imports import bom_import, csv_import
from hygiene import selectors as hygiene_selectors
from hygiene.lib.uploads import bounded_upload


class BomUploadForm(forms.Form):
    file = forms.FileField(
        label="CycloneDX JSON file",
        help_text="An SBOM or ML-BOM in CycloneDX 1.2 to 1.7 JSON.",
        widget=forms.ClearableFileInput(attrs={"accept": ".json,.cdx.json,application/json"}),
    )
    team = forms.ChoiceField(help_text="The team that runs what the BOM describes.")
    environment = forms.ChoiceField(
        choices=Environment.choices,
        initial=Environment.DEVELOPMENT,
        help_text="Given to the assets this import creates; existing assets keep theirs.",
    )
    asset = forms.CharField(
        label="Asset it describes",
        required=False,
        max_length=200,
        help_text="Name of the team's asset this BOM was made from (an image, a repository...). Its "
        "packages are recorded on it. Needed when the BOM names no subject (metadata.component).",
    )

    def __init__(self, *args: Any, teams: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = teams  # type: ignore[attr-defined]

    def clean_file(self) -> Any:
        return _bounded(self.cleaned_data["file"], settings.HYGIENE_BOM_MAX_BYTES)


class CsvUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns as in the template; rows are matched by team, kind and name.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self) -> Any:
        return _bounded(self.cleaned_data["file"], settings.HYGIENE_ASSET_CSV_MAX_BYTES)


def _bounded(upload: Any, limit: int) -> Any:
    if upload.size > limit:
        raise forms.ValidationError(f"The file is larger than the {limit // (1024 * 1024)} MB allowed.")
    return upload


def _render(request: HttpRequest, status: int = 200, **context: Any) -> HttpResponse:
    teams = contributable_team_choices(request.user)
    context.setdefault("bom_form", BomUploadForm(teams=teams))
    context.setdefault("csv_form", CsvUploadForm())
    context["may_import"] = bool(teams)
    context["max_rows"] = settings.HYGIENE_ASSET_CSV_MAX_ROWS
    return render(request, "assets/import.html", context, status=status)


@login_required
@require_GET
def import_page(request: HttpRequest) -> HttpResponse:
    return _render(request)


def _too_large(what: str, setting: str) -> Any:
    def refuse(request: HttpRequest) -> HttpResponse:
        limit = getattr(settings, setting) // (1024 * 1024)
        messages.error(request, f"The {what} is larger than the {limit} MB allowed; nothing was imported.")
        return _render(request, 413)

    return refuse


def _bom_max_bytes() -> int:
    return int(settings.HYGIENE_BOM_MAX_BYTES)


def _csv_max_bytes() -> int:
    return int(settings.HYGIENE_ASSET_CSV_MAX_BYTES)


@login_required
@require_POST
@bounded_upload(_bom_max_bytes, _too_large("BOM", "HYGIENE_BOM_MAX_BYTES"))
def bom_import_view(request: HttpRequest) -> HttpResponse:
    form = BomUploadForm(request.POST, request.FILES, teams=contributable_team_choices(request.user))
    if not form.is_valid():
        messages.error(request, "The BOM was not imported; see the form below.")
        return _render(request, 400, bom_form=form)
    upload = form.cleaned_data["file"]
    team = hygiene_selectors.team_get_for_user(user=request.user, slug=form.cleaned_data["team"])
    try:
        subject = None
        if form.cleaned_data["asset"].strip():
            subject = selectors.team_asset_named_for_user(
                user=request.user, team_id=team.pk, name=form.cleaned_data["asset"]
            )
        result = bom_import(
            actor=request.user,
            team=team,
            data=upload.read(),
            environment=form.cleaned_data["environment"],
            source=upload.name,
            asset=subject,
        )
    except BomRejected as exc:
        form.add_error("file", exc.messages)
        messages.error(request, "The BOM was not imported; nothing was written.")
        return _render(request, 400, bom_form=form)
    except ValidationError as exc:
        form.add_error(None, exc)
        messages.error(request, "The BOM was not imported; nothing was written.")
        return _render(request, 400, bom_form=form)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return _render(request, 403, bom_form=form)
    messages.success(
        request,
        f"Imported {upload.name} into {team.name}: {result.assets_created} asset(s) created, "
        f"{result.assets_updated} updated, {result.edges_created} lineage link(s) added.",
    )
    imported = selectors.visible_assets(request.user).filter(pk__in=result.asset_ids).order_by("kind", "name")
    return _render(request, bom_result=result, bom_team=team, imported=imported)


@login_required
@require_POST
@bounded_upload(_csv_max_bytes, _too_large("CSV file", "HYGIENE_ASSET_CSV_MAX_BYTES"))
def csv_import_view(request: HttpRequest) -> HttpResponse:
    form = CsvUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "The CSV was not imported; see the form below.")
        return _render(request, 400, csv_form=form)
    upload = form.cleaned_data["file"]
    try:
        result = csv_import(
            actor=request.user,
            data=upload.read(),
            max_rows=settings.HYGIENE_ASSET_CSV_MAX_ROWS,
            source=upload.name,
        )
    except CsvRejected as exc:
        messages.error(request, f"Nothing was imported: {len(exc.errors)} problem(s) in {upload.name}.")
        return _render(request, 400, csv_form=form, csv_errors=exc.errors)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return _render(request, 403, csv_form=form)
    messages.success(
        request,
        f"Imported {upload.name}: {result.assets_created} asset(s) created, {result.assets_updated} "
        f"updated, {result.assets_unchanged} unchanged.",
    )
    return _render(request, csv_result=result)


@login_required
@require_GET
def csv_template_view(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="inventory-template.csv"'
    return response


def _exported(request: HttpRequest, export_format: str) -> Iterator[Asset]:
    form = AssetFilterForm(request.GET or None, teams=visible_team_choices(request.user))
    return asset_export(user=request.user, filters=form.filters(), export_format=export_format)


def _attachment(chunks: Iterator[str], content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def export_csv_view(request: HttpRequest) -> StreamingHttpResponse:
    rows = export_csv(_exported(request, "csv"))
    return _attachment(rows, "text/csv; charset=utf-8", "inventory.csv")


@login_required
@require_GET
def export_json_view(request: HttpRequest) -> StreamingHttpResponse:
    chunks = export_json(_exported(request, "json"))
    return _attachment(chunks, "application/json", "inventory.json")
