"""Tokens in the technical admin: visible and revocable through the pages, never editable."""

from django.contrib import admin

from .models import PersonalToken


@admin.register(PersonalToken)
class PersonalTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "organisation", "expires_at", "revoked_at",
                    "last_used_at"]
    list_filter = ["organisation"]
    search_fields = ["name", "prefix", "user__email"]
    readonly_fields = ["organisation", "user", "name", "prefix", "scopes", "expires_at",
                       "revoked_at", "last_used_at", "created_at"]
    exclude = ["key_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
