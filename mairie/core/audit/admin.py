"""The audit trail in the technical administration: readable, never writable."""

from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["seq", "created_at", "organisation", "actor_label", "action", "object_label"]
    list_filter = ["organisation", "action"]
    search_fields = ["actor_label", "action", "object_label", "object_id"]
    list_select_related = ["organisation"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
