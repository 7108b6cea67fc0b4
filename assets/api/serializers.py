"""Explicit input and output shapes of the inventory API; validation only, the rules are in services."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assets.models import (
    IDENTIFIER_MAX,
    NAME_MAX,
    TAG_MAX,
    Asset,
    AssetKind,
    ClassificationLevel,
    Criticality,
    EdgeKind,
    Environment,
    Lifecycle,
    LineageEdge,
    PolicyViolation,
)


class AssetSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    technical_owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    classification = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    effective_classification = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    inherited = serializers.SerializerMethodField(help_text="Effective level comes from upstream.")

    class Meta:
        model = Asset
        fields = [
            *("id", "name", "team", "kind", "environment", "technical_owner", "criticality", "lifecycle"),
            *("classification", "effective_classification", "inherited", "is_restricted"),
            *("identifiers", "tags", "description", "created_at", "updated_at"),
        ]
        read_only_fields = fields

    def get_inherited(self, asset: Asset) -> bool:
        return asset.effective_source_id is not None


class AssetReferenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AssetDetailSerializer(AssetSerializer):
    effective_source = serializers.SerializerMethodField(
        help_text="The upstream asset the effective level came from, when you may see it."
    )

    class Meta(AssetSerializer.Meta):
        fields = [*AssetSerializer.Meta.fields, "effective_source"]
        read_only_fields = fields

    @extend_schema_field(AssetReferenceSerializer(allow_null=True))
    def get_effective_source(self, asset: Asset) -> dict[str, object] | None:
        source = self.context.get("effective_source")
        return {"id": source.pk, "name": source.name} if source is not None else None


class AssetInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=NAME_MAX)
    team = serializers.SlugField(help_text="Slug of a team you belong to.")
    kind = serializers.ChoiceField(choices=AssetKind.choices)
    environment = serializers.ChoiceField(choices=Environment.choices, default=Environment.DEVELOPMENT)
    technical_owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        allow_null=True,
    )
    criticality = serializers.ChoiceField(choices=Criticality.choices, default=Criticality.MEDIUM)
    classification = serializers.SlugRelatedField(
        slug_field="slug", queryset=ClassificationLevel.objects.all(), required=False, allow_null=True
    )
    identifiers = serializers.ListField(
        child=serializers.CharField(max_length=IDENTIFIER_MAX), required=False, default=list
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=TAG_MAX), required=False, default=list
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")


class AssetUpdateSerializer(AssetInputSerializer):
    lifecycle = serializers.ChoiceField(choices=Lifecycle.choices, required=False)


class EdgeSerializer(serializers.ModelSerializer):
    source_name = serializers.CharField(source="source.name", read_only=True)
    target_name = serializers.CharField(source="target.name", read_only=True)
    reads = serializers.SerializerMethodField(help_text="The edge as a sentence, downstream first.")

    class Meta:
        model = LineageEdge
        fields = ["id", "source", "source_name", "target", "target_name", "kind", "reads", "created_at"]
        read_only_fields = fields

    def get_reads(self, edge: LineageEdge) -> str:
        return f"{edge.target.name} {edge.downstream_phrase} {edge.source.name}"


class EdgeInputSerializer(serializers.Serializer):
    source = serializers.IntegerField(help_text="The upstream asset: data flows from it.")
    target = serializers.IntegerField(help_text="The downstream asset: it inherits the source's level.")
    kind = serializers.ChoiceField(choices=EdgeKind.choices)


class LevelSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClassificationLevel
        fields = [
            *("id", "name", "slug", "rank", "description", "encryption_at_rest", "encryption_in_transit"),
            *("mfa_required", "max_retention_days", "anonymization_required", "access_granted_by"),
            "is_restricted",
        ]
        read_only_fields = fields


class LevelInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    rank = serializers.IntegerField(min_value=1)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    encryption_at_rest = serializers.BooleanField(default=False)
    encryption_in_transit = serializers.BooleanField(default=False)
    mfa_required = serializers.BooleanField(default=False)
    max_retention_days = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    anonymization_required = serializers.BooleanField(default=False)
    access_granted_by = serializers.CharField(required=False, allow_blank=True, default="")


class ViolationSerializer(serializers.ModelSerializer):
    asset_name = serializers.CharField(source="asset.name", read_only=True)
    related_asset = serializers.SerializerMethodField(help_text="Null when you may not see it.")

    class Meta:
        model = PolicyViolation
        fields = ["id", "asset", "asset_name", "rule", "detail", "related_asset", "detected_at"]
        read_only_fields = fields

    def get_related_asset(self, violation: PolicyViolation) -> int | None:
        visible = getattr(violation, "related_visible", False)
        return violation.related_asset_id if visible else None


class GraphNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    environment = serializers.CharField()
    team = serializers.CharField()
    level = serializers.CharField()
    level_rank = serializers.IntegerField()
    restricted = serializers.BooleanField()
    retired = serializers.BooleanField()
    url = serializers.CharField()
    x = serializers.IntegerField(help_text="Distance: negative upstream, positive downstream.")
    y = serializers.FloatField()
    center = serializers.BooleanField()


class GraphEdgeSerializer(serializers.Serializer):
    source = serializers.IntegerField()
    target = serializers.IntegerField()
    kind = serializers.CharField()
    label = serializers.CharField()


class LineageGraphSerializer(serializers.Serializer):
    nodes = GraphNodeSerializer(many=True)
    edges = GraphEdgeSerializer(many=True)
    upstream_count = serializers.IntegerField()
    downstream_count = serializers.IntegerField()
    truncated = serializers.BooleanField()
