from django.contrib import admin

from metrics.models import ControlSnapshot, CoverageSnapshot, FindingSnapshot


@admin.register(FindingSnapshot)
class FindingSnapshotAdmin(admin.ModelAdmin):
    list_display = (
        "day",
        "team",
        "environment",
        "restricted",
        "severity",
        "open",
        "open_past_sla",
        "patched",
    )
    list_filter = ("environment", "restricted", "severity")
    date_hierarchy = "day"

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # computed by the snapshot service only


@admin.register(CoverageSnapshot)
class CoverageSnapshotAdmin(admin.ModelAdmin):
    list_display = ("day", "team", "environment", "restricted", "kind", "active", "scanned_7", "scanned_30")
    list_filter = ("environment", "restricted", "kind")
    date_hierarchy = "day"

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ControlSnapshot)
class ControlSnapshotAdmin(admin.ModelAdmin):
    list_display = ("day", "team", "environment", "restricted", "control", "passing", "applicable", "owned")
    list_filter = ("environment", "restricted")
    list_select_related = ("team", "control")
    date_hierarchy = "day"

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # the only record of past compliance: a deleted day cannot be computed again
