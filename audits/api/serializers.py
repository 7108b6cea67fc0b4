from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework import serializers

from assets.models import Environment
from audits.models import Engagement, EvidenceBundle, Framework
from hygiene.models import Team


class EngagementSerializer(serializers.ModelSerializer):
    auditor = serializers.CharField(source="auditor.username", read_only=True)
    opened_by = serializers.CharField(source="opened_by.username", read_only=True, default=None)
    teams = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = Engagement
        fields = [
            *("id", "name", "auditor", "period_start", "period_end", "frameworks", "teams", "environments"),
            *("restricted_in_scope", "ends_at", "ended_at", "is_active", "opened_by", "created_at"),
        ]


class EngagementInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    auditor = serializers.SlugRelatedField(slug_field="username", queryset=get_user_model().objects.all())
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    ends_at = serializers.DateTimeField()
    frameworks = serializers.ListField(child=serializers.ChoiceField(choices=Framework.choices), default=list)
    teams = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), many=True, default=list
    )
    environments = serializers.ListField(
        child=serializers.ChoiceField(choices=Environment.choices), default=list
    )
    restricted_in_scope = serializers.BooleanField(default=False)

    def validate_ends_at(self, value: Any) -> Any:
        if value <= timezone.now():
            raise serializers.ValidationError("Access must end in the future.")
        return value


class BundleSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = EvidenceBundle
        fields = [
            *(
                "id",
                "engagement",
                "status",
                "progress",
                "step",
                "error",
                "sha256",
                "size_bytes",
                "file_count",
            ),
            *("audit_head_seq", "audit_head_hash", "created_at", "started_at", "finished_at", "download_url"),
        ]

    def get_download_url(self, bundle: EvidenceBundle) -> str | None:
        from django.urls import reverse

        return reverse("api-bundle-download", args=[bundle.pk]) if bundle.status == "done" else None


class VerifyInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The evidence bundle (ZIP).")


class VerifyReportSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    summary = serializers.CharField()
    problems = serializers.ListField(child=serializers.CharField())
    altered = serializers.ListField(child=serializers.CharField())
    missing = serializers.ListField(child=serializers.CharField())
    extra = serializers.ListField(child=serializers.CharField())
    signature = serializers.CharField()
    refused = serializers.CharField()


class ExportListSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    csv_url = serializers.CharField()
    json_url = serializers.CharField()
