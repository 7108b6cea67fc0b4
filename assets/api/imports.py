"""API: upload a CycloneDX BOM or a CSV into the inventory; export the filtered inventory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
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
from assets.selectors import asset_get_for_user, visible_team_choices
from assets.services.exports import asset_export
from assets.services.imports import bom_import, csv_import
from hygiene import selectors as hygiene_selectors
from hygiene.lib.uploads import BoundedUploadMixin
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
    asset = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Id of the team's asset this BOM was made from: it stands for the BOM's subject and "
        "the packages are recorded on it. Needed when the BOM names no subject (metadata.component).",
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


# The shape of every 400 (hygiene.api.schema): the fields at fault, or `detail`.
BomImportErrorSerializer = inline_serializer(
    name="BomImportError", fields={"detail": serializers.CharField(required=False)}
)


def _team_for_import(user: Any, slug: str) -> Team:
    try:
        return hygiene_selectors.team_get_for_user(user=user, slug=slug)
    except Http404 as exc:
        raise PermissionDenied(TEAM_REFUSED) from exc


class BomImportView(BoundedUploadMixin, APIView):
    """Import a CycloneDX JSON SBOM or ML-BOM (1.2-1.7) into a team; all or nothing."""

    parser_classes = [MultiPartParser, FormParser]

    def upload_max_bytes(self) -> int:
        return int(settings.HYGIENE_BOM_MAX_BYTES)

    @extend_schema(
        request={"multipart/form-data": BomImportInputSerializer},
        responses={
            201: BomImportResultSerializer,
            400: OpenApiResponse(
                BomImportErrorSerializer,
                description=(
                    "Not a readable CycloneDX BOM (`detail` says why),"
                    " or one that names no subject and no asset."
                ),
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = BomImportInputSerializer(data=self.uploaded_data(request))
        data.is_valid(raise_exception=True)
        values = data.validated_data
        team = _team_for_import(request.user, values["team"])
        subject = asset_get_for_user(user=request.user, pk=values["asset"]) if "asset" in values else None
        try:
            result = bom_import(
                actor=request.user,
                team=team,
                data=values["file"].read(),
                environment=values["environment"],
                source=values["file"].name,
                asset=subject,
            )
        except BomRejected as exc:
            return Response({"detail": exc.messages[0]}, status=status.HTTP_400_BAD_REQUEST)
        except ValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(BomImportResultSerializer(result).data, status=status.HTTP_201_CREATED)


class CsvImportView(BoundedUploadMixin, APIView):
    """Create or update assets from CSV rows (matched by team, kind and name); any bad row writes nothing."""

    parser_classes = [MultiPartParser, FormParser]

    def upload_max_bytes(self) -> int:
        return int(settings.HYGIENE_ASSET_CSV_MAX_BYTES)

    @extend_schema(
        request={"multipart/form-data": CsvImportInputSerializer},
        responses={200: CsvImportResultSerializer, 400: CsvRejectedSerializer},
    )
    def post(self, request: Request) -> Response:
        data = CsvImportInputSerializer(data=self.uploaded_data(request))
        if not data.is_valid():  # answered in the shape of row errors, as a bad file is
            errors = [
                {"row": 0, "column": name, "message": str(message)}
                for name, messages in data.errors.items()
                for message in messages
            ]
            return Response(
                {"detail": "Nothing was imported: the request is incomplete.", "errors": errors},
                status=status.HTTP_400_BAD_REQUEST,
            )
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

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={(200, "application/json"): {"type": "array", "items": {"type": "object"}}},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        response = StreamingHttpResponse(
            export_json(_exported(request, "json")), content_type="application/json"
        )
        response["Content-Disposition"] = 'attachment; filename="inventory.json"'
        return response
