"""Findings through the API: the list with the page's filters, one finding with its history, and bulk
status changes. Everything goes through the same selectors and service as the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from assets.models import AssetKind, Environment
from findings import selectors
from findings.forms import BULK_ACTIONS
from findings.models import Category, Finding, FindingStatus, Severity
from findings.services.findings import MAX_BULK, finding_bulk_set_status
from hygiene.api.pagination import CappedPageNumberPagination


class FindingSerializer(serializers.ModelSerializer):
    asset = serializers.IntegerField(source="asset_id", read_only=True)
    asset_name = serializers.CharField(source="asset.name", read_only=True)
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Finding
        fields = [
            *("id", "asset", "asset_name", "team", "scanner", "category", "rule_id", "title", "severity"),
            *("package", "installed_version", "fixed_version", "status", "first_seen", "last_seen"),
            *("sla_due", "kev", "kev_due", "epss", "epss_percentile", "cvss"),
        ]
        read_only_fields = fields


class HistoryEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=[("import", "import"), ("status", "status")])
    label = serializers.CharField()
    job = serializers.IntegerField(source="job.pk", allow_null=True, default=None)
    actor = serializers.CharField()
    reason = serializers.CharField()


class FindingDetailSerializer(FindingSerializer):
    history = serializers.SerializerMethodField()

    class Meta(FindingSerializer.Meta):
        fields = [
            *FindingSerializer.Meta.fields,
            *("location", "target", "published_at", "description", "url", "mitigated_at", "fingerprint"),
            "history",
        ]
        read_only_fields = fields

    @extend_schema_field(HistoryEventSerializer(many=True))
    def get_history(self, finding: Finding) -> list[dict[str, Any]]:
        events = selectors.finding_history(finding=finding)
        return HistoryEventSerializer(events, many=True).data  # type: ignore[return-value]


class BulkStatusInputSerializer(serializers.Serializer):
    findings = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=MAX_BULK
    )
    status = serializers.ChoiceField(choices=BULK_ACTIONS)
    reason = serializers.CharField(max_length=1000, help_text="Why; kept in each finding's history.")


class BulkStatusResultSerializer(serializers.Serializer):
    status = serializers.CharField()
    changed = serializers.IntegerField()
    unchanged = serializers.IntegerField(help_text="Already in that status, or risk accepted.")


FILTER_PARAMETERS = [
    OpenApiParameter("q", str, description="Full-text on title, rule id and package; exact rule id."),
    OpenApiParameter("severity", str, enum=Severity.values, many=True),
    OpenApiParameter("status", str, enum=FindingStatus.values, many=True),
    OpenApiParameter("category", str, enum=Category.values, many=True),
    OpenApiParameter("team", str, description="Team slug."),
    OpenApiParameter("asset", str, description="Asset id, or part of its name."),
    OpenApiParameter("past_sla", bool, description="Only open findings past their SLA due date."),
    OpenApiParameter("kev", bool, description="Only findings in CISA's KEV catalogue."),
    OpenApiParameter("age", str, enum=list(selectors.AGE_BANDS), description="Days since first seen."),
    OpenApiParameter("environment", str, enum=Environment.values, description="The asset's environment."),
    OpenApiParameter("kind", str, enum=AssetKind.values, description="The asset's kind."),
    OpenApiParameter("scanner", str, description="trivy, sarif (every SARIF tool) or sarif:codeql..."),
    OpenApiParameter("found_from", dt.date, description="First seen on or after this day."),
    OpenApiParameter("found_to", dt.date, description="First seen on or before this day."),
    OpenApiParameter("patched_from", dt.date, description="Patched (gone from a scan) on or after this day."),
    OpenApiParameter("patched_to", dt.date, description="Patched on or before this day."),
    OpenApiParameter("open_on", dt.date, description="Open at the end of this day (from its history)."),
    OpenApiParameter("sort", str, enum=list(selectors.SORTS), description="Default: severity."),
]


def _filters(request: Request) -> dict[str, Any]:
    params = request.query_params
    keys = ("q", "team", "asset", "age", "sort", "environment", "kind", "scanner")
    filters: dict[str, Any] = {key: params.get(key, "") for key in keys}
    for key in ("found_from", "found_to", "patched_from", "patched_to", "open_on"):
        value = params.get(key, "")
        if value:
            try:
                filters[key] = dt.date.fromisoformat(value)
            except ValueError as exc:
                raise ValidationError({key: "A date as YYYY-MM-DD."}) from exc
    for key in ("severity", "status", "category"):
        filters[key] = [v for value in params.getlist(key) for v in value.split(",") if v]
    for key in ("past_sla", "kev"):
        filters[key] = params.get(key, "").lower() in ("1", "true", "yes", "on")
    return filters


class FindingViewSet(viewsets.GenericViewSet):
    lookup_value_regex = "[0-9]+"  # a malformed id matches no route: 404, never a 500
    serializer_class = FindingSerializer
    pagination_class = CappedPageNumberPagination  # a security lead's list is a million rows
    queryset = Finding.objects.none()  # names the model for the schema; reads use the selectors

    def get_queryset(self) -> Any:
        return selectors.finding_list_for_user(user=self.request.user, filters=_filters(self.request))

    @extend_schema(parameters=FILTER_PARAMETERS, responses=FindingSerializer(many=True))
    def list(self, request: Request) -> Response:
        filters = _filters(request)
        findings = selectors.finding_list_for_user(user=request.user, filters=filters)
        # Pages read like the list page's: an EPSS-sorted one from the top-scored CVEs' findings.
        page = self.paginate_queryset(selectors.FindingPages(findings, sort=filters.get("sort")))  # type: ignore[arg-type]
        return self.get_paginated_response(FindingSerializer(page, many=True).data)

    @extend_schema(responses=FindingDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        finding = selectors.finding_get_for_user(user=request.user, pk=int(pk))
        return Response(FindingDetailSerializer(finding).data)

    @extend_schema(request=BulkStatusInputSerializer, responses=BulkStatusResultSerializer)
    @action(detail=False, methods=["post"], url_path="bulk-status")
    def bulk_status(self, request: Request) -> Response:
        """Mark findings false positive or reopen them, all or none; the reason goes into their history."""
        data = BulkStatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = finding_bulk_set_status(
            actor=request.user,
            finding_ids=data.validated_data["findings"],
            status=data.validated_data["status"],
            reason=data.validated_data["reason"],
        )
        return Response(BulkStatusResultSerializer(result).data)
