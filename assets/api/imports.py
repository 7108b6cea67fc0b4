"""API: upload a CycloneDX BOM or a CSV into the inventory; export the filtered inventory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assets.bom import BomRejected
from assets.csv_io import CsvRejected, export_csv, export_json
from assets.forms import AssetFilterForm
from assets.models import Asset, Environment
from assets.selectors import visible_team_choices
from assets.services.exports import asset_export
from assets.services.imports import bom_import, csv_import
from hygiene import selectors as hygiene_selectors
from hygiene.models import Team

TEAM_REFUSED = "You can import only into a team you belong to (with a token: only into the token's team)."


def _bounded_file(limit: int) -> serializers.FileField:
    return serializers.FileField(
        validators=[_size_validator(limit)], help_text=f"At most {limit // (1024 * 1024)} MB."
    )


def _size_validator(limit: int) -> Any:
    def check(upload: Any) -> None:
        if upload.size > limit:
            raise serializers.ValidationError(f"The file is larger than the {limit} bytes allowed.")

    return check


class BomImportInputSerializer(serializers.Serializer):
    file = _bounded_file(settings.HYGIENE_BOM_MAX_BYTES)
    team = serializers.SlugField(help_text="Slug of the team the assets belong to.")
    environment = serializers.ChoiceField(
        choices=Environment.choices,
        default=Environment.DEVELOPMENT,
        help_text="Environment of the assets this import creates; existing assets keep theirs.",
    )


class BomImportResultSerializer(serializers.Serializer):
    assets_created = serializers.IntegerField()
    assets_updated = serializers.IntegerField()
    edges_created = serializers.IntegerField()
    edges_updated = serializers.IntegerField()
    components = serializers.IntegerField(help_text="Components and services the BOM lists.")
    warnings = serializers.ListField(child=serializers.CharField())
    asset_ids = serializers.ListField(child=serializers.IntegerField())
    findings = serializers.IntegerField(
        help_text="Vulnerabilities an SPDX 3 security profile states, imported as findings on the assets."
    )


class CsvImportInputSerializer(serializers.Serializer):
    file = _bounded_file(settings.HYGIENE_ASSET_CSV_MAX_BYTES)


class CsvImportResultSerializer(serializers.Serializer):
    assets_created = serializers.IntegerField()
    assets_updated = serializers.IntegerField()
    assets_unchanged = serializers.IntegerField()
    asset_ids = serializers.ListField(child=serializers.IntegerField())


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Spreadsheet row number (header = 1); 0 for the whole file.")
    column = serializers.CharField()
    message = serializers.CharField()


# Built inline: a serializer field named "errors" would hide Serializer.errors.
CsvRejectedSerializer = inline_serializer(
    name="CsvRejected", fields={"detail": serializers.CharField(), "errors": RowErrorSerializer(many=True)}
)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


def _team_for_import(user: Any, slug: str) -> Team:
    try:
        return hygiene_selectors.team_get_for_user(user=user, slug=slug)
    except Http404 as exc:
        raise PermissionDenied(TEAM_REFUSED) from exc


class BomImportView(APIView):
    """Import a CycloneDX JSON SBOM or ML-BOM (1.4-1.6) into a team; all or nothing."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": BomImportInputSerializer},
        responses={
            201: BomImportResultSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Not a readable CycloneDX BOM."),
            403: OpenApiResponse(ErrorSerializer, description="Not a team you can import into."),
        },
    )
    def post(self, request: Request) -> Response:
        data = BomImportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        team = _team_for_import(request.user, values["team"])
        try:
            result = bom_import(
                actor=request.user,
                team=team,
                data=values["file"].read(),
                environment=values["environment"],
                source=values["file"].name,
            )
        except BomRejected as exc:
            return Response({"detail": exc.messages[0]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(BomImportResultSerializer(result).data, status=status.HTTP_201_CREATED)


class CsvImportView(APIView):
    """Create or update assets from CSV rows (matched by team, kind and name); any bad row writes nothing."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": CsvImportInputSerializer},
        responses={200: CsvImportResultSerializer, 400: CsvRejectedSerializer},
    )
    def post(self, request: Request) -> Response:
        data = CsvImportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        try:
            result = csv_import(
                actor=request.user,
                data=upload.read(),
                max_rows=settings.HYGIENE_ASSET_CSV_MAX_ROWS,
                source=upload.name,
            )
        except CsvRejected as exc:
            body = {"detail": exc.messages[0], "errors": RowErrorSerializer(exc.errors, many=True).data}
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(CsvImportResultSerializer(result).data)


FILTER_PARAMETERS = [
    OpenApiParameter("q", str, description="Search in names, identifiers and descriptions."),
    OpenApiParameter("kind", str),
    OpenApiParameter("environment", str),
    OpenApiParameter("team", str, description="Team slug."),
    OpenApiParameter("classification", str, description="Effective level slug, or 'unclassified'."),
    OpenApiParameter("lifecycle", str, description="active (default), retired or all."),
    OpenApiParameter("tag", str),
    OpenApiParameter("sort", str),
]


def _exported(request: Request, export_format: str) -> Iterator[Asset]:
    form = AssetFilterForm(request.query_params or None, teams=visible_team_choices(request.user))
    return asset_export(user=request.user, filters=form.filters(), export_format=export_format)


class ExportCsvView(APIView):
    """The inventory you can see, filtered like the list page, as CSV (streamed; audited)."""

    @extend_schema(parameters=FILTER_PARAMETERS, responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request) -> StreamingHttpResponse:
        response = StreamingHttpResponse(
            export_csv(_exported(request, "csv")), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="inventory.csv"'
        return response


class ExportJsonView(APIView):
    """The inventory you can see, filtered like the list page, as a JSON array (streamed; audited)."""

    @extend_schema(parameters=FILTER_PARAMETERS, responses={(200, "application/json"): OpenApiTypes.OBJECT})
    def get(self, request: Request) -> StreamingHttpResponse:
        response = StreamingHttpResponse(
            export_json(_exported(request, "json")), content_type="application/json"
        )
        response["Content-Disposition"] = 'attachment; filename="inventory.json"'
        return response
