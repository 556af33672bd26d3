"""Technical administration (platform operators) of services and memberships.

Day-to-day changes are made by each organisation's administrators in the agent workspace
(/agent/organisation/), where they are audited; this admin is the operators' safety net.
"""

from django.contrib import admin

from .models import Membership, Service


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role"]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent", "organisation"]
    list_filter = ["organisation"]
    search_fields = ["name", "slug", "email"]
    list_select_related = ["parent", "organisation"]
    autocomplete_fields = ["parent"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def save_formset(self, request, form, formset, change):
        # Memberships added inline belong to the service's organisation.
        for membership in formset.save(commit=False):
            membership.organisation_id = form.instance.organisation_id
            membership.save()
        for membership in formset.deleted_objects:
            membership.delete()
        formset.save_m2m()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "service", "organisation"]
    list_filter = ["organisation", "role"]
    search_fields = ["user__email", "user__last_name", "service__name"]
    list_select_related = ["user", "service", "organisation"]
    autocomplete_fields = ["user", "service"]

    def save_model(self, request, obj, form, change):
        # A membership always belongs to its service's organisation.
        obj.organisation_id = obj.service.organisation_id
        super().save_model(request, obj, form, change)

    def get_exclude(self, request, obj=None):
        return ["organisation"]
