"""Admin for operators. Derived columns (effective level, violations) are read-only here: the
services compute them, so an edit in the admin cannot leave the graph inconsistent."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from guardian.admin import GuardedModelAdmin

from assets.models import (
    Asset,
    ClassificationLevel,
    DatasetProvenance,
    LineageEdge,
    PolicyViolation,
    TransformationLogEntry,
)


@admin.register(ClassificationLevel)
class ClassificationLevelAdmin(admin.ModelAdmin):
    list_display = ["name", "rank", "is_restricted", "mfa_required", "max_retention_days"]
    readonly_fields = ["is_restricted"]
    ordering = ["rank"]


class UpstreamInline(admin.TabularInline):
    model = LineageEdge
    fk_name = "target"
    extra = 0
    raw_id_fields = ["source", "created_by"]
    verbose_name = "upstream edge"


@admin.register(Asset)
class AssetAdmin(GuardedModelAdmin):
    """Object permissions (view/change grants for one person) are managed from here."""

    list_display = ["name", "team", "kind", "environment", "effective_classification", "lifecycle"]
    list_filter = ["kind", "environment", "lifecycle", "effective_classification", "team"]
    search_fields = ["name", "identifiers", "description"]
    raw_id_fields = ["technical_owner", "effective_source"]
    readonly_fields = ["effective_classification", "effective_source", "is_restricted", "created_at"]
    inlines = [UpstreamInline]


@admin.register(DatasetProvenance)
class DatasetProvenanceAdmin(admin.ModelAdmin):
    list_display = ["dataset", "source", "contains_personal_data", "retention_until"]
    raw_id_fields = ["dataset"]


@admin.register(TransformationLogEntry)
class TransformationLogEntryAdmin(admin.ModelAdmin):
    list_display = ["dataset", "occurred_at", "actor_label", "description"]
    raw_id_fields = ["dataset", "actor"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # append-only: the database refuses updates and deletes

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PolicyViolation)
class PolicyViolationAdmin(admin.ModelAdmin):
    list_display = ["asset", "rule", "detail", "detected_at"]
    list_filter = ["rule"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
