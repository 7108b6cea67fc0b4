"""Scan sources through the API: list, read, create, change, delete, and ask for a pull now."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from findings import selectors
from findings.models import ImportJob, ScanFolderGrant, ScanSource, SourceKind
from findings.services import folders as folder_services
from findings.services import sources as services
from hygiene import selectors as hygiene_selectors


class ScanSourceSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    asset = serializers.IntegerField(source="asset_id", read_only=True, allow_null=True)
    asset_name = serializers.CharField(source="asset.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ScanSource
        fields = [
            *("id", "name", "kind", "location", "team", "asset", "asset_name", "format", "enabled"),
            *("interval_minutes", "last_pulled_at", "created_at"),
        ]
        read_only_fields = fields


class SourceJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportJob
        fields = [
            *("id", "status", "filename", "format", "created_at", "finished_at", "error"),
            *("new_count", "unchanged_count", "reopened_count", "mitigated_count", "findings_count"),
        ]
        read_only_fields = fields


class ScanSourceDetailSerializer(ScanSourceSerializer):
    jobs = serializers.SerializerMethodField()

    class Meta(ScanSourceSerializer.Meta):
        fields = [*ScanSourceSerializer.Meta.fields, "jobs"]
        read_only_fields = fields

    @extend_schema_field(SourceJobSerializer(many=True))
    def get_jobs(self, source: ScanSource) -> list[dict[str, Any]]:
        jobs = selectors.source_job_list(source=source)
        return SourceJobSerializer(jobs, many=True).data  # type: ignore[return-value]


class ScanSourceInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=SourceKind.choices)
    location = serializers.CharField(max_length=1000, help_text="Folder path or http(s) URL.")
    team = serializers.SlugField(help_text="The owning team's slug.")
    asset = serializers.IntegerField(required=False, allow_null=True, default=None)
    format = serializers.CharField(required=False, allow_blank=True, default="", max_length=32)
    interval_minutes = serializers.IntegerField(
        min_value=services.MIN_INTERVAL, max_value=services.MAX_INTERVAL, default=60
    )
    enabled = serializers.BooleanField(default=True)


class PullRequestedSerializer(serializers.Serializer):
    detail = serializers.CharField()


def _resolve(user: Any, values: dict[str, Any]) -> dict[str, Any]:
    from assets.selectors import asset_get_for_user

    values = dict(values)
    try:
        values["team"] = hygiene_selectors.team_get_for_user(user=user, slug=values["team"])
    except Http404 as exc:
        raise ApiValidationError({"team": "No such team among yours."}) from exc
    if values.get("asset"):
        try:
            values["asset"] = asset_get_for_user(user=user, pk=values["asset"])
        except Http404 as exc:
            raise ApiValidationError({"asset": "No such asset among those you can see."}) from exc
    return values


class ScanSourceViewSet(viewsets.GenericViewSet):
    lookup_value_regex = "[0-9]+"  # a malformed id matches no route: 404, never a 500
    serializer_class = ScanSourceSerializer
    queryset = ScanSource.objects.none()  # names the model for the schema; reads use the selectors

    def get_queryset(self) -> Any:
        return selectors.source_list_for_user(user=self.request.user)

    @extend_schema(responses=ScanSourceSerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ScanSourceSerializer(page, many=True).data)

    @extend_schema(responses=ScanSourceDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        source = selectors.source_get_for_user(user=request.user, pk=int(pk))
        return Response(ScanSourceDetailSerializer(source).data)

    @extend_schema(request=ScanSourceInputSerializer, responses={201: ScanSourceSerializer})
    def create(self, request: Request) -> Response:
        data = ScanSourceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        source = services.source_create(actor=request.user, **_resolve(request.user, data.validated_data))
        return Response(ScanSourceSerializer(source).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ScanSourceInputSerializer, responses=ScanSourceSerializer)
    def update(self, request: Request, pk: str) -> Response:
        source = selectors.source_get_for_user(user=request.user, pk=int(pk))
        data = ScanSourceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = _resolve(request.user, data.validated_data)
        if values.pop("team") != source.team:
            raise ApiValidationError({"team": "A source stays in its team; create a new one instead."})
        source = services.source_update(actor=request.user, source=source, **values)
        return Response(ScanSourceSerializer(source).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        source = selectors.source_get_for_user(user=request.user, pk=int(pk))
        services.source_delete(actor=request.user, source=source)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: PullRequestedSerializer})
    @action(detail=True, methods=["post"])
    def pull(self, request: Request, pk: str) -> Response:
        """Ask a worker to pull the source now; its imports appear in the source's jobs."""
        source = selectors.source_get_for_user(user=request.user, pk=int(pk))
        services.source_request_pull(actor=request.user, source=source)
        return Response({"detail": f"Pull of {source.name} queued."}, status=status.HTTP_202_ACCEPTED)


class FolderGrantSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    granted_by = serializers.CharField(
        source="granted_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = ScanFolderGrant
        fields = ["id", "team", "path", "granted_by", "created_at"]
        read_only_fields = fields


class FolderGrantInputSerializer(serializers.Serializer):
    team = serializers.SlugField(help_text="The team whose folder sources may read the folder.")
    path = serializers.CharField(max_length=1000, help_text="An absolute path inside a drop root.")


class FolderGrantViewSet(viewsets.GenericViewSet):
    """Folders under the drop roots that security leads granted to teams (beyond each team's own)."""

    lookup_value_regex = "[0-9]+"  # a malformed id matches no route: 404, never a 500
    serializer_class = FolderGrantSerializer
    queryset = ScanFolderGrant.objects.none()

    def get_queryset(self) -> Any:
        return selectors.folder_grant_list_for_user(user=self.request.user)

    @extend_schema(responses=FolderGrantSerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(FolderGrantSerializer(page, many=True).data)

    @extend_schema(request=FolderGrantInputSerializer, responses={201: FolderGrantSerializer})
    def create(self, request: Request) -> Response:
        data = FolderGrantInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = _resolve(request.user, {**data.validated_data})
        grant = folder_services.folder_grant_add(actor=request.user, team=values["team"], path=values["path"])
        return Response(FolderGrantSerializer(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        grant = selectors.folder_grant_get_for_user(user=request.user, pk=int(pk))
        folder_services.folder_grant_remove(actor=request.user, grant=grant)
        return Response(status=status.HTTP_204_NO_CONTENT)
