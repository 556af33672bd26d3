"""Technical administration of the collectivités hosted on the instance and their host names."""

from django.contrib import admin

from .models import Organisation, OrganisationHost


class OrganisationHostInline(admin.TabularInline):
    model = OrganisationHost
    extra = 1


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "country", "is_default"]
    list_filter = ["kind", "country", "is_default"]
    search_fields = ["name", "slug", "hosts__host"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [OrganisationHostInline]
    raw_id_fields = ["logo"]
    readonly_fields = ["created_at", "updated_at"]
