"""Input and output shapes of the controls API (validation only; the services hold the rules)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from assets.models import AssetKind, Environment
from controls.models import (
    Assessment,
    AssessmentStatus,
    Control,
    ControlMapping,
    ControlOwnership,
    Domain,
    Evidence,
    EvidenceKind,
    Framework,
    Mode,
    Requirement,
    RiskException,
    RiskRating,
    Scope,
)
from controls.rules import RULE_CHOICES


class FrameworkSerializer(serializers.ModelSerializer):
    class Meta:
        model = Framework
        fields = [
            "slug",
            "name",
            "version",
            "publisher",
            "source",
            "url",
            "licence",
            "attribution",
            "loaded_at",
        ]
        read_only_fields = fields


class RequirementSerializer(serializers.ModelSerializer):
    parent = serializers.CharField(source="parent.identifier", default=None, read_only=True)
    controls = serializers.SerializerMethodField()

    class Meta:
        model = Requirement
        fields = [
            "identifier",
            "label",
            "title",
            "kind",
            "is_group",
            "withdrawn",
            "depth",
            "parent",
            "controls",
        ]
        read_only_fields = fields

    def get_controls(self, requirement: Requirement) -> list[str]:
        return [m.control.code for m in requirement.mappings.all() if m.control.retired_at is None]


class MappingSerializer(serializers.ModelSerializer):
    framework = serializers.CharField(source="requirement.framework.slug", read_only=True)
    requirement = serializers.CharField(source="requirement.identifier", read_only=True)
    title = serializers.CharField(source="requirement.title", read_only=True)

    class Meta:
        model = ControlMapping
        fields = ["id", "framework", "requirement", "title"]
        read_only_fields = fields


class ControlSerializer(serializers.ModelSerializer):
    min_classification = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    mappings = MappingSerializer(many=True, read_only=True)

    class Meta:
        model = Control
        fields = [
            *("code", "title", "objective", "domain", "mode", "rule", "scope", "cadence_days"),
            *("applies_to_kinds", "applies_to_environments", "min_classification", "from_baseline"),
            *("retired_at", "mappings"),
        ]
        read_only_fields = fields


class ControlInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=30, required=False)
    title = serializers.CharField(max_length=200)
    objective = serializers.CharField()
    domain = serializers.ChoiceField(choices=Domain.choices)
    mode = serializers.ChoiceField(choices=Mode.choices)
    rule = serializers.ChoiceField(choices=[("evidence", "Attested"), *RULE_CHOICES], default="evidence")
    scope = serializers.ChoiceField(choices=Scope.choices, default=Scope.ASSET)
    cadence_days = serializers.IntegerField(min_value=1, max_value=3650)
    applies_to_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=AssetKind.choices), default=list
    )
    applies_to_environments = serializers.ListField(
        child=serializers.ChoiceField(choices=Environment.choices), default=list
    )
    min_classification = serializers.SlugField(required=False, allow_null=True, default=None)


class MappingInputSerializer(serializers.Serializer):
    framework = serializers.SlugField()
    requirement = serializers.CharField(max_length=100)


class OwnershipSerializer(serializers.ModelSerializer):
    control = serializers.CharField(source="control.code", read_only=True)
    team = serializers.CharField(source="team.slug", read_only=True)
    owner = serializers.CharField(source="owner.username", default=None, read_only=True)
    champion = serializers.CharField(source="champion.username", default=None, read_only=True)

    class Meta:
        model = ControlOwnership
        fields = ["id", "control", "team", "owner", "champion", "updated_at"]
        read_only_fields = fields


class OwnershipInputSerializer(serializers.Serializer):
    control = serializers.CharField(max_length=30)
    team = serializers.SlugField()
    owner = serializers.CharField(max_length=150, help_text="Username of a member of the team.")
    champion = serializers.CharField(max_length=150, required=False, allow_null=True, default=None)


class EvidenceSerializer(serializers.ModelSerializer):
    collected_by = serializers.CharField(source="collected_by.username", default=None, read_only=True)
    download = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = [
            *("id", "kind", "title", "filename", "content_type", "sha256", "size_bytes", "url", "text"),
            *("collected_by", "collected_on", "expires_on", "created_at", "download"),
        ]
        read_only_fields = fields

    def get_download(self, evidence: Evidence) -> str | None:
        return f"/api/v1/evidence/{evidence.pk}/download/" if evidence.file else None


class EvidenceInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EvidenceKind.choices)
    title = serializers.CharField(max_length=200)
    file = serializers.FileField(required=False)
    url = serializers.URLField(required=False, allow_blank=True, max_length=1000)
    text = serializers.CharField(required=False, allow_blank=True)
    collected_on = serializers.DateField(required=False)
    expires_on = serializers.DateField(required=False, allow_null=True)


class AssessmentSerializer(serializers.ModelSerializer):
    control = serializers.CharField(source="control.code", read_only=True)
    control_title = serializers.CharField(source="control.title", read_only=True)
    asset = serializers.IntegerField(source="asset_id", read_only=True, allow_null=True)
    asset_name = serializers.CharField(source="asset.name", default=None, read_only=True)
    team = serializers.CharField(source="team.slug", read_only=True)
    status = serializers.ChoiceField(choices=AssessmentStatus.choices, read_only=True)
    reason = serializers.CharField(source="explanation", read_only=True)

    class Meta:
        model = Assessment
        fields = [
            *("id", "control", "control_title", "asset", "asset_name", "team", "status", "reason"),
            *("due_on", "exception", "assessed_at", "changed_at"),
        ]
        read_only_fields = fields


class AssessmentDetailSerializer(AssessmentSerializer):
    evidence = EvidenceSerializer(many=True, read_only=True)

    class Meta(AssessmentSerializer.Meta):
        fields = [*AssessmentSerializer.Meta.fields, "evidence"]
        read_only_fields = fields


class ExceptionSerializer(serializers.ModelSerializer):
    asset_name = serializers.CharField(source="asset.name", read_only=True)
    team = serializers.CharField(source="team.slug", read_only=True)
    control = serializers.CharField(source="control.code", default=None, read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", default=None, read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", default=None, read_only=True)
    findings = serializers.SerializerMethodField()

    class Meta:
        model = RiskException
        fields = [
            *("id", "title", "status", "team", "asset", "asset_name", "control", "findings", "justification"),
            *(
                "compensating_controls",
                "risk_rating",
                "severity",
                "expires_on",
                "requested_by",
                "requested_at",
            ),
            *("decided_by", "decided_at", "decision_comment", "closed_at"),
        ]
        read_only_fields = fields

    def get_findings(self, exception: RiskException) -> list[int]:
        return [row.finding_id for row in exception.covered.all()]


class ExceptionInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    justification = serializers.CharField()
    compensating_controls = serializers.CharField(required=False, allow_blank=True, default="")
    risk_rating = serializers.ChoiceField(choices=RiskRating.choices)
    expires_on = serializers.DateField()
    findings = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list
    )
    asset = serializers.IntegerField(required=False, allow_null=True, default=None)
    control = serializers.CharField(required=False, allow_null=True, default=None, max_length=30)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["findings"] and not (attrs["asset"] and attrs["control"]):
            raise serializers.ValidationError("Give the findings, or a control and an asset.")
        return attrs


class DecisionInputSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class TallySerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    applicable = serializers.IntegerField(source="tally.applicable")
    passing = serializers.IntegerField(source="tally.passing")
    failing = serializers.IntegerField(source="tally.failing")
    not_assessed = serializers.IntegerField(source="tally.not_assessed")
    excepted = serializers.IntegerField(source="tally.excepted")
    share_passing = serializers.FloatField(source="tally.share", allow_null=True)
    assessments = serializers.SerializerMethodField()

    def get_assessments(self, row: Any) -> str:
        return f"/api/v1/assessments/?{row.query}" if row.query else "/api/v1/assessments/"


class ComplianceSerializer(serializers.Serializer):
    total = TallySerializer(many=True)
    frameworks = TallySerializer(many=True)
    domains = TallySerializer(many=True)
    teams = TallySerializer(many=True)


class GapSerializer(serializers.Serializer):
    control = serializers.CharField(source="control.code")
    title = serializers.CharField(source="control.title")
    team = serializers.CharField(source="team.slug")
    applicable = serializers.IntegerField()
    failing = serializers.IntegerField()
