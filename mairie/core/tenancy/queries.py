"""Resolving the organisation of a request."""

from django.core.cache import cache
from django.http import HttpRequest

from .models import Organisation, OrganisationHost

_CACHE_PREFIX = "tenancy:host:"


def organisation_for_host(host: str) -> Organisation | None:
    """The organisation serving `host` (port stripped), or the default one."""
    host = host.split(":")[0].lower().rstrip(".")
    key = _CACHE_PREFIX + host
    org_id = cache.get(key)
    if org_id is None:
        org_id = (
            OrganisationHost.objects.filter(host=host).values_list("organisation_id", flat=True)
            .first()
        )
        if org_id is None:
            org_id = default_organisation_id()
        if org_id is None:
            return None
        cache.set(key, str(org_id), 300)
    return Organisation.objects.filter(pk=org_id).first()


def default_organisation_id():
    from django.conf import settings

    qs = Organisation.objects.all()
    slug = settings.MAIRIE_DEFAULT_ORGANISATION_SLUG
    if slug:
        found = qs.filter(slug=slug).values_list("pk", flat=True).first()
        if found:
            return found
    return (qs.filter(is_default=True).values_list("pk", flat=True).first()
            or qs.order_by("created_at").values_list("pk", flat=True).first())


def forget_host_cache() -> None:
    """Called when hosts or the default organisation change."""
    cache.delete_pattern(_CACHE_PREFIX + "*") if hasattr(cache, "delete_pattern") else cache.clear()


def request_organisation(request: HttpRequest) -> Organisation | None:
    return getattr(request, "organisation", None)
