"""Push a scan file from a pipeline, and follow its import job.

``POST /api/v1/scans/`` stores the file and answers 202 with the job at once; the import runs on a
worker. ``GET /api/v1/scans/<id>/`` (and the job page) show its status, progress and counts.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from findings import selectors
from findings.errors import ImportFailed, ScanTooLarge
from findings.importers import FORMATS
from findings.models import ImportJob, RedTeamProbe
from findings.services import jobs as job_services
from findings.uploads import scan_max_bytes
from hygiene.lib.pagination import DEFAULT_PAGE_SIZE
from hygiene.lib.uploads import BoundedUploadMixin
from hygiene.permissions import is_active_user, token_allows


class ScanTokenPermission(BasePermission):
    """Pushing needs the token action "scans:push"; following a job needs "read" or "scans:push"."""

    message = "This token may not push scans (it needs the “scans:push” action)."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not is_active_user(request.user):
            return False
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return token_allows(request.user, "read") or token_allows(request.user, "scans:push")
        return token_allows(request.user, "scans:push")


class ScanPushInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The scanner's report, as the scanner wrote it.")
    asset = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="The asset's id or name. Without it, the asset is matched by the identifiers the scan "
        "reports (image reference, repository URL, package URL).",
    )
    team = serializers.SlugField(
        required=False, allow_blank=True, default="", help_text="The team's slug (to match within it)."
    )
    format = serializers.ChoiceField(
        choices=[("", "detect")] + [(name, name) for name in sorted(FORMATS)],
        required=False,
        allow_blank=True,
        default="",
        help_text="The importer to use; blank detects it from the file.",
    )


class JobAssetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ImportJobSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()
    team: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    asset = JobAssetSerializer(read_only=True, allow_null=True)
    duration_seconds = serializers.SerializerMethodField()
    retry_of = serializers.IntegerField(
        source="retry_of_id", read_only=True, allow_null=True, help_text="The failed import this one retries."
    )

    class Meta:
        model = ImportJob
        fields = [
            *("id", "url", "page_url", "status", "progress", "format", "requested_format", "filename"),
            *("sha256", "size_bytes", "team", "asset", "new_count", "unchanged_count", "reopened_count"),
            *("mitigated_count", "findings_count", "error", "created_at", "started_at", "finished_at"),
            *("duration_seconds", "attempts", "retry_of"),
        ]
        read_only_fields = fields

    def _absolute(self, path: str) -> str:
        request: HttpRequest | None = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_url(self, job: ImportJob) -> str:
        return self._absolute(reverse("api-scan-detail", args=[job.pk]))

    def get_page_url(self, job: ImportJob) -> str:
        return self._absolute(job.get_absolute_url())

    def get_duration_seconds(self, job: ImportJob) -> float | None:
        return job_services.job_duration_seconds(job)


class RedTeamProbeSerializer(serializers.ModelSerializer):
    pass_rate = serializers.FloatField(read_only=True)

    class Meta:
        model = RedTeamProbe
        fields = [
            *("tool", "probe", "target", "attempts", "passed", "pass_rate", "detectors"),
            *("owasp_ids", "atlas_ids", "ran_at"),
        ]
        read_only_fields = fields


class ScanListView(BoundedUploadMixin, APIView):
    permission_classes = [ScanTokenPermission]
    parser_classes = [MultiPartParser]

    def upload_max_bytes(self) -> int:
        return scan_max_bytes()

    def upload_too_large_message(self) -> str:
        return job_services.too_large_message(None)

    @extend_schema(
        summary="Import jobs you can see, newest first",
        responses=ImportJobSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        jobs = selectors.job_list_for_user(user=request.user)[:DEFAULT_PAGE_SIZE]
        return Response(ImportJobSerializer(jobs, many=True, context={"request": request}).data)

    @extend_schema(
        summary="Push a scan file",
        request={"multipart/form-data": ScanPushInputSerializer},
        responses={
            202: ImportJobSerializer,
            400: OpenApiResponse(description="Missing file, unknown format, ambiguous asset."),
            404: OpenApiResponse(description="No such asset or team (or not yours to see)."),
            413: OpenApiResponse(description="The file is larger than HYGIENE_SCAN_MAX_BYTES."),
        },
    )
    def post(self, request: Request) -> Response:
        data = ScanPushInputSerializer(data=self.uploaded_data(request))  # streams the file in
        data.is_valid(raise_exception=True)
        values = data.validated_data
        team, asset = job_services.upload_destination(
            user=request.user, asset_ref=values["asset"], team_slug=values["team"]
        )
        upload = values["file"]
        try:
            job = job_services.job_create(
                actor=request.user,
                team=team,
                asset=asset,
                file=upload,
                filename=upload.name or "scan",
                requested_format=values["format"],
                sha256=getattr(upload, "sha256", ""),
                size=upload.size,
            )
        except ScanTooLarge as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        except ImportFailed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        body = ImportJobSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class ScanDetailView(APIView):
    permission_classes = [ScanTokenPermission]

    @extend_schema(summary="An import job: status, progress, counts, error", responses=ImportJobSerializer)
    def get(self, request: Request, pk: int) -> Response:
        job = selectors.job_get_for_user(user=request.user, pk=pk)
        return Response(ImportJobSerializer(job, context={"request": request}).data)


class ScanRetryView(APIView):
    permission_classes = [ScanTokenPermission]

    @extend_schema(
        summary="Import a failed job's file again, as a new job",
        request=None,
        responses={
            202: ImportJobSerializer,
            400: OpenApiResponse(description="The job did not fail, or its raw file is gone."),
            404: OpenApiResponse(description="No such import job (or not yours to see)."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        job = selectors.job_get_for_user(user=request.user, pk=pk)
        try:
            retry = job_services.job_retry(actor=request.user, job=job)
        except ImportFailed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        body = ImportJobSerializer(retry, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class ScanProbesView(APIView):
    permission_classes = [ScanTokenPermission]

    @extend_schema(
        summary="Red-team probes of an import (garak, promptfoo): attempts, pass rate, OWASP LLM, ATLAS",
        responses=RedTeamProbeSerializer(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        job = selectors.job_get_for_user(user=request.user, pk=pk)
        probes = selectors.job_probes(job=job)
        return Response(RedTeamProbeSerializer(probes, many=True).data)
