from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from hygiene.models import ApiToken, AuditEntry, Membership, Profile, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "function"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "access_expires_at"]
    search_fields = ["user__username"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "team", "expires_at", "revoked_at", "last_used_at"]
    readonly_fields = ["prefix", "key_hash", "last_used_at", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are issued on the tokens page, which shows the secret once


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only for the application, admin included."""

    list_display = ["id", "seq", "occurred_at", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "object_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
