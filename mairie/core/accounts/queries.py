"""Reads of the accounts module, always scoped to one organisation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from .models import IdentityProvider

if TYPE_CHECKING:
    from mairie.core.tenancy.models import Organisation


def identity_providers_for(organisation: Organisation, *, audience: str | None = None
                           ) -> QuerySet[IdentityProvider]:
    """Active OpenID Connect providers offered on `organisation`'s login page."""
    qs = (IdentityProvider.objects
          .filter(organisation=organisation, is_active=True, app__isnull=False)
          .select_related("app")
          .order_by("audience", "name"))
    if audience is not None:
        qs = qs.filter(audience=audience)
    return qs


def social_app_ids_for(organisation: Organisation | None) -> set[int]:
    """Primary keys of the allauth apps that may be used on `organisation`'s host."""
    if organisation is None:
        return set()
    return set(identity_providers_for(organisation).values_list("app_id", flat=True))


def has_totp(user) -> bool:
    """Whether `user` has enrolled a TOTP authenticator: the door to the agent workspace, the
    agents' API endpoints, agents-only search results and the technical administration."""
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
