from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audits.models import Engagement, EvidenceBundle


@admin.register(Engagement)
class EngagementAdmin(admin.ModelAdmin):
    """Read-only here: engagements are opened and ended through their service (audited, validated)."""

    list_display = [
        "name",
        "auditor",
        "period_start",
        "period_end",
        "restricted_in_scope",
        "ends_at",
        "ended_at",
    ]
    search_fields = ["name", "auditor__username"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EvidenceBundle)
class EvidenceBundleAdmin(admin.ModelAdmin):
    list_display = ["id", "engagement", "status", "progress", "sha256", "created_at", "finished_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
