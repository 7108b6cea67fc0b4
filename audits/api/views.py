"""API of the audits app: engagements, evidence bundles, the PDF report, OSCAL, verification and exports.

The same services and selectors as the pages. An auditor's API client works inside an engagement by
passing ``?engagement=<id>`` to the exports (the pages keep it in the session instead).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audits import selectors
from audits.api.serializers import (
    BundleSerializer,
    EngagementInputSerializer,
    EngagementSerializer,
    ExportListSerializer,
    VerifyInputSerializer,
    VerifyReportSerializer,
)
from audits.services.bundles import bundle_request, may_request_bundle
from audits.services.engagements import engagement_end, engagement_open
from audits.services.oscal import engagement_oscal
from audits.services.report import engagement_report_pdf
from audits.services.verify import bundle_verify
from audits.views.bundles import bundle_file_response
from hygiene.lib.uploads import BoundedUploadMixin
from hygiene.permissions import engagement_enter, is_auditor, sees_all_teams
from hygiene.services.exports import export_lists_for_user, export_stream


def _denied(exc: PermissionDenied) -> ApiPermissionDenied:
    return ApiPermissionDenied(str(exc) or "You may not do that.")


def _may_export(request: Request, engagement: Any) -> None:
    if not may_request_bundle(request.user, engagement):
        if not engagement.is_active:
            raise ApiPermissionDenied("This engagement has ended; its data can no longer be exported.")
        raise ApiPermissionDenied("Only the engagement's auditor and security leads export its data.")


class EngagementListView(APIView):
    @extend_schema(responses=EngagementSerializer(many=True), summary="Engagements you may see")
    def get(self, request: Request) -> Response:
        engagements = selectors.engagement_list_for_user(user=request.user)
        return Response(EngagementSerializer(engagements, many=True).data)

    @extend_schema(
        request=EngagementInputSerializer, responses={201: EngagementSerializer}, summary="Open an engagement"
    )
    def post(self, request: Request) -> Response:
        data = EngagementInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            engagement = engagement_open(actor=request.user, **data.validated_data)
        except PermissionDenied as exc:
            raise _denied(exc) from exc
        except ValidationError as exc:
            raise ApiValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            ) from exc
        return Response(EngagementSerializer(engagement).data, status=status.HTTP_201_CREATED)


class EngagementDetailView(APIView):
    @extend_schema(responses=EngagementSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(
            EngagementSerializer(selectors.engagement_get_for_user(user=request.user, pk=pk)).data
        )


class EngagementEndView(APIView):
    @extend_schema(request=None, responses=EngagementSerializer, summary="End an engagement now")
    def post(self, request: Request, pk: int) -> Response:
        engagement = selectors.engagement_get_for_user(user=request.user, pk=pk)
        try:
            engagement_end(actor=request.user, engagement=engagement)
        except PermissionDenied as exc:
            raise _denied(exc) from exc
        return Response(EngagementSerializer(engagement).data)


class EngagementBundleView(APIView):
    @extend_schema(request=None, responses={202: BundleSerializer}, summary="Build an evidence bundle")
    def post(self, request: Request, pk: int) -> Response:
        engagement = selectors.engagement_get_for_user(user=request.user, pk=pk)
        try:
            bundle = bundle_request(actor=request.user, engagement=engagement)
        except PermissionDenied as exc:
            raise _denied(exc) from exc
        return Response(BundleSerializer(bundle).data, status=status.HTTP_202_ACCEPTED)


class BundleDetailView(APIView):
    @extend_schema(responses=BundleSerializer, summary="A bundle's status and progress")
    def get(self, request: Request, pk: int) -> Response:
        return Response(BundleSerializer(selectors.bundle_get_for_user(user=request.user, pk=pk)).data)


class BundleDownloadView(APIView):
    @extend_schema(
        responses={(200, "application/zip"): OpenApiTypes.BINARY}, summary="Download a ready bundle"
    )
    def get(self, request: Request, pk: int) -> Any:
        bundle = selectors.bundle_get_for_user(user=request.user, pk=pk)
        _may_export(request, bundle.engagement)
        if bundle.status != "done" or not bundle.file:
            return Response({"detail": "This bundle is not ready."}, status=status.HTTP_409_CONFLICT)
        return bundle_file_response(bundle, request.user)


class EngagementReportView(APIView):
    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY}, summary="The PDF report")
    def get(self, request: Request, pk: int) -> HttpResponse:
        engagement = selectors.engagement_get_for_user(user=request.user, pk=pk)
        _may_export(request, engagement)
        return HttpResponse(
            engagement_report_pdf(engagement=engagement, actor=request.user), content_type="application/pdf"
        )


class EngagementOscalView(APIView):
    @extend_schema(
        responses={(200, "application/json"): OpenApiTypes.OBJECT}, summary="OSCAL 1.1 assessment results"
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        engagement = selectors.engagement_get_for_user(user=request.user, pk=pk)
        _may_export(request, engagement)
        document = engagement_oscal(engagement=engagement, actor=request.user)
        return HttpResponse(json.dumps(document), content_type="application/json")


class BundleVerifyView(BoundedUploadMixin, APIView):
    parser_classes = [MultiPartParser]

    def upload_max_bytes(self) -> int:
        return int(settings.HYGIENE_BUNDLE_VERIFY_MAX_BYTES)

    token_action = "read"  # noqa: S105 (a token action, not a secret)

    @extend_schema(
        request={"multipart/form-data": VerifyInputSerializer},
        responses={200: VerifyReportSerializer, 422: VerifyReportSerializer},
        summary="Verify an evidence bundle",
    )
    def post(self, request: Request) -> Response:
        if not sees_all_teams(request.user):
            raise ApiPermissionDenied("Verifying evidence bundles is for security leads and auditors.")
        data = VerifyInputSerializer(data=self.uploaded_data(request))
        data.is_valid(raise_exception=True)
        report = bundle_verify(source=data.validated_data["file"].file, check_live_log=True)
        body = {
            "ok": report.ok,
            "summary": report.summary(),
            "problems": report.problems(),
            "altered": report.altered,
            "missing": report.missing,
            "extra": report.extra,
            "signature": report.signature,
            "refused": report.refused,
        }
        return Response(
            body, status=status.HTTP_200_OK if report.ok else status.HTTP_422_UNPROCESSABLE_ENTITY
        )


class ExportListView(APIView):
    @extend_schema(responses=ExportListSerializer(many=True), summary="The lists you may export")
    def get(self, request: Request) -> Response:
        from django.urls import reverse

        rows = [
            {
                "key": spec.key,
                "title": spec.title,
                "columns": [name for name, _ in spec.columns],
                "csv_url": reverse("api-export", args=[spec.key, "csv"]),
                "json_url": reverse("api-export", args=[spec.key, "json"]),
            }
            for spec in export_lists_for_user(user=request.user)
        ]
        return Response(rows)


class ExportDownloadView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("engagement", int, description="Export inside this engagement (auditors)."),
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY, (200, "application/json"): OpenApiTypes.BINARY},
        summary="Export a list as CSV or JSON (the list page's filters as query parameters)",
    )
    def get(self, request: Request, key: str, export_format: str) -> StreamingHttpResponse:
        params = request.query_params.copy()
        engagement_id = params.pop("engagement", [None])[0]
        if engagement_id and is_auditor(request.user):
            engagement = selectors.engagement_get_for_user(user=request.user, pk=int(engagement_id))
            if not engagement.is_active or engagement.auditor_id != request.user.pk:
                raise ApiPermissionDenied("This engagement has ended.")
            engagement_enter(request.user, selectors.engagement_scope_of(engagement))
        try:
            export = export_stream(user=request.user, key=key, export_format=export_format, params=params)
        except PermissionDenied as exc:
            raise _denied(exc) from exc
        response = StreamingHttpResponse(export.chunks, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response


class EngagementRecordsView(APIView):
    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.BINARY, (200, "application/json"): OpenApiTypes.BINARY},
        summary="One section's in-scope records of the engagement (what its bundle holds)",
    )
    def get(self, request: Request, pk: int, key: str, export_format: str) -> StreamingHttpResponse:
        from audits.services.records import engagement_records

        engagement = selectors.engagement_get_for_user(user=request.user, pk=pk)
        _may_export(request, engagement)
        export = engagement_records(
            engagement=engagement, actor=request.user, key=key, export_format=export_format
        )
        response = StreamingHttpResponse(export.chunks, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response
