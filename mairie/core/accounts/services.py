"""Writes of the accounts module: closing an account, configuring identity providers."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from allauth.socialaccount.models import SocialApp
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import ForeignObjectRel
from django.http import HttpRequest

from mairie.core.audit.services import record_event

from . import rules
from .models import OIDC_PROVIDER, IdentityProvider
from .signals import account_deleted

if TYPE_CHECKING:
    from mairie.core.users.models import User

DELETED_EMAIL_DOMAIN = "compte-supprime.invalid"


def is_deleted_account(user: User) -> bool:
    return user.email.endswith("@" + DELETED_EMAIL_DOMAIN)


def delete_account(*, actor: User, user: User, request: HttpRequest | None = None) -> None:
    """Close `user`'s account at their own request.

    The row stays as an anonymous, inactive tombstone instead of being deleted: the audit log
    is append-only (the database refuses to null its `actor` column) and records that the law
    keeps (dossiers, decisions) may point at the account. Everything that exists only for the
    account goes: e-mail addresses, authenticators, linked identities, notifications… i.e.
    every row whose foreign key to the user cascades. See docs/decisions/0100-account-deletion.md.
    """
    if not rules.can_delete_account(actor, user):
        raise PermissionDenied
    organisation = user.organisation
    with transaction.atomic():
        record_event(organisation=organisation, action="account.deleted", actor=actor, obj=user,
                     request=request, details={"by": "self"})
        account_deleted.send(sender=type(user), user=user, request=request)
        _delete_rows_owned_by(user)
        user.email = f"{uuid.uuid4().hex}@{DELETED_EMAIL_DOMAIN}"
        user.first_name = user.last_name = user.phone = user.language = ""
        user.is_active = user.is_staff = user.is_superuser = False
        user.last_login = None
        user.set_unusable_password()
        user.save()
    if request is not None and getattr(request, "user", None) is not None \
            and request.user.pk == user.pk:
        logout(request)


def _delete_rows_owned_by(user: User) -> None:
    """Delete what a hard delete of `user` would cascade to (the same relations Django's
    deletion collector follows, many-to-many links included through their tables), leaving
    SET_NULL/PROTECT/DO_NOTHING rows, kept by their owners on purpose, on the tombstone."""
    for relation in user._meta.get_fields(include_hidden=True):
        if not isinstance(relation, ForeignObjectRel) or relation.concrete:
            continue
        if (relation.one_to_many or relation.one_to_one) \
                and relation.on_delete is models.CASCADE:
            related_model: type[models.Model] = relation.related_model  # type: ignore[assignment]
            related_model._base_manager.filter(**{relation.field.name: user}).delete()


# --- Identity providers (OpenID Connect per organisation) ----------------------------------

def save_identity_provider(*, actor: User, provider: IdentityProvider,
                           request: HttpRequest | None = None) -> IdentityProvider:
    """Create or update `provider` and the allauth app its login buttons use."""
    if not actor.has_perm("accounts.manage_identity_provider", provider):
        raise PermissionDenied
    created = provider._state.adding
    provider.full_clean()
    with transaction.atomic():
        app: SocialApp = provider.app if provider.app is not None else SocialApp(
            provider=OIDC_PROVIDER, provider_id=_new_provider_id(provider))
        app.name = provider.name
        app.client_id = provider.client_id
        app.secret = provider.secret
        app.settings = {
            "server_url": provider.server_url,
            "scope": provider.scopes.split(),
            "oauth_pkce_enabled": provider.use_pkce,
        }
        app.save()
        provider.app = app
        provider.save()
        record_event(
            organisation=provider.organisation, actor=actor, obj=provider, request=request,
            action="accounts.identity_provider_created" if created
            else "accounts.identity_provider_changed",
            details={"audience": provider.audience, "server_url": provider.server_url,
                     "client_id": provider.client_id, "active": provider.is_active})
    return provider


def delete_identity_provider(*, actor: User, provider: IdentityProvider,
                             request: HttpRequest | None = None) -> None:
    """Remove the provider and its allauth app. Accounts that used it keep working with a
    password (or a password reset); their links to the provider stay for the record."""
    if not actor.has_perm("accounts.manage_identity_provider", provider):
        raise PermissionDenied
    with transaction.atomic():
        record_event(organisation=provider.organisation, actor=actor, obj=provider,
                     request=request, action="accounts.identity_provider_deleted",
                     details={"audience": provider.audience, "server_url": provider.server_url})
        app = provider.app
        provider.delete()
        if app is not None:
            app.delete()


def _new_provider_id(provider: IdentityProvider) -> str:
    """The identifier in the login and callback URLs: readable, stable once created (the
    callback URL is registered at the provider), unique on the instance."""
    base = f"{provider.organisation.slug}-{provider.audience}"[:150]
    candidate = base
    while SocialApp.objects.filter(provider_id=candidate).exists():
        candidate = f"{base}-{uuid.uuid4().hex[:6]}"
    return candidate
