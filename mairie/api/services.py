"""Writes of the API app: personal tokens, and the profile change offered by `PATCH /me/`.

`user_for_token()` lives here rather than in queries because it writes `last_used_at`.
"""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from mairie.core.audit.services import record_event

from .models import DISPLAY_PREFIX_LENGTH, KEY_PREFIX, PersonalToken, hash_key
from .rules import can_create_token, can_revoke_token
from .scopes import is_known

if TYPE_CHECKING:
    from mairie.core.tenancy.models import Organisation
    from mairie.core.users.models import User

DEFAULT_LIFETIME = dt.timedelta(days=90)
# "One year" counted from the end of the chosen day: a token created today may expire at the
# end of the same date next year.
MAX_LIFETIME = dt.timedelta(days=366)
MAX_ACTIVE_TOKENS_PER_USER = 50
LAST_USED_GRANULARITY = dt.timedelta(minutes=1)


class TokenRefused(Exception):
    """A key that does not authenticate; `message` says why, in French, for the client."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def local_today(organisation: Organisation) -> dt.date:
    return timezone.localdate(timezone.now(), _zone(organisation))


def default_expiry_date(organisation: Organisation) -> dt.date:
    return timezone.localdate(timezone.now() + DEFAULT_LIFETIME, _zone(organisation))


def max_expiry_date(organisation: Organisation) -> dt.date:
    return timezone.localdate(timezone.now() + MAX_LIFETIME, _zone(organisation)) - dt.timedelta(
        days=1)


def end_of_day(day: dt.date, organisation: Organisation) -> dt.datetime:
    """A token chosen to expire "on 12 March" works all that day, in the organisation's zone
    (and reads "12/03 23:59" rather than an ambiguous "13/03 00:00")."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.max), _zone(organisation))


def _zone(organisation: Organisation) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(organisation.time_zone)


def create_token(
    *,
    actor: User,
    organisation: Organisation,
    name: str,
    scopes: Iterable[str],
    expires_at: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> tuple[PersonalToken, str]:
    """Create a token for `actor` and return it with its raw key, which is never stored."""
    if not can_create_token(actor, organisation):
        raise PermissionDenied(_("Vous ne pouvez pas créer de jeton pour cette collectivité."))
    name = (name or "").strip()
    scopes = sorted(set(scopes))
    now = timezone.now()
    if expires_at is None:
        expires_at = now + DEFAULT_LIFETIME
    errors: dict[str, list[str]] = {}
    if not name:
        errors.setdefault("name", []).append(_("Donnez un nom au jeton."))
    elif len(name) > 100:
        errors.setdefault("name", []).append(_("Le nom ne doit pas dépasser 100 caractères."))
    if not scopes:
        errors.setdefault("scopes", []).append(_("Choisissez au moins une portée."))
    unknown = [code for code in scopes if not is_known(code)]
    if unknown:
        errors.setdefault("scopes", []).append(
            _("Portée inconnue : %(codes)s.") % {"codes": ", ".join(unknown)})
    if expires_at <= now:
        errors.setdefault("expires_at", []).append(
            _("La date d'expiration doit être dans le futur."))
    elif expires_at > now + MAX_LIFETIME:
        errors.setdefault("expires_at", []).append(
            _("Un jeton expire au plus tard un an après sa création."))
    if errors:
        raise ValidationError(errors)

    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        active = (PersonalToken.objects
                  .filter(user=actor, organisation=organisation, revoked_at__isnull=True,
                          expires_at__gt=now)
                  .count())
        if active >= MAX_ACTIVE_TOKENS_PER_USER:
            raise ValidationError(
                _("Vous avez déjà %(count)d jetons actifs : révoquez ceux qui ne servent plus.")
                % {"count": active})
        token = PersonalToken.objects.create(
            organisation=organisation, user=actor, name=name, scopes=scopes,
            expires_at=expires_at, prefix=raw_key[:DISPLAY_PREFIX_LENGTH],
            key_hash=hash_key(raw_key),
        )
        record_event(
            organisation=organisation, action="api.token_created", actor=actor, obj=token,
            details={"name": name, "prefix": token.prefix, "scopes": scopes,
                     "expires_at": expires_at.isoformat()},
            request=request,
        )
    return token, raw_key


def revoke_token(*, actor: User, token: PersonalToken,
                 request: HttpRequest | None = None) -> PersonalToken:
    """Revoke `token` now; revoking an already revoked token changes nothing."""
    if not can_revoke_token(actor, token):
        raise PermissionDenied(_("Vous ne pouvez pas révoquer ce jeton."))
    with transaction.atomic():
        locked = PersonalToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at", "updated_at"])
            record_event(
                organisation=token.organisation, obj=locked,
                action="api.token_revoked", actor=actor, request=request,
                details={"name": locked.name, "prefix": locked.prefix,
                         "owner": str(locked.user_id)},
            )
    token.revoked_at = locked.revoked_at
    return token


def user_for_token(key: str, *, organisation: Organisation | None = None
                   ) -> tuple[User, PersonalToken]:
    """The user a raw key authenticates, with its token.

    Raises `TokenRefused` for an unknown, revoked or expired key, an inactive user, or — when
    `organisation` is given — a token of another organisation. `last_used_at` is written at
    most once a minute per token so that busy clients do not turn every read into a write.
    """
    token = (PersonalToken.objects.select_related("user")
             .filter(key_hash=hash_key(key)).first())
    if token is None:
        raise TokenRefused(_("Jeton invalide."), "token_invalid")
    now = timezone.now()
    if token.revoked_at is not None:
        raise TokenRefused(_("Ce jeton a été révoqué."), "token_revoked")
    if token.expires_at <= now:
        raise TokenRefused(
            _("Ce jeton a expiré le %(date)s. Créez-en un nouveau dans « Mon compte ».")
            % {"date": date_format(timezone.localtime(token.expires_at), "SHORT_DATETIME_FORMAT")},
            "token_expired")
    user = token.user
    if not user.is_active or user.organisation_id != token.organisation_id:
        raise TokenRefused(_("Le compte de ce jeton est désactivé."), "user_inactive")
    if organisation is not None and token.organisation_id != organisation.pk:
        raise TokenRefused(_("Ce jeton n'est pas valable pour cette collectivité."),
                           "token_wrong_organisation")
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_GRANULARITY:
        (PersonalToken.objects.filter(pk=token.pk)
         .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_GRANULARITY))
         .update(last_used_at=now))
        token.last_used_at = now
    return user, token


def update_own_names(*, actor: User, first_name: str | None = None,
                     last_name: str | None = None,
                     request: HttpRequest | None = None) -> User:
    """Change the actor's own first and/or last name (None leaves a name as it is).

    Offered by `PATCH /api/v1/me/`; belongs with the users' services once that module has some.
    """
    if not actor.is_authenticated or actor.organisation_id is None:
        raise PermissionDenied
    changes: dict[str, dict[str, str]] = {}
    errors: dict[str, list[str]] = {}
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if value is None:
            continue
        value = value.strip()
        if len(value) > 150:
            errors[field] = [_("150 caractères au plus.")]
        elif value != getattr(actor, field):
            changes[field] = {"before": getattr(actor, field), "after": value}
    if errors:
        raise ValidationError(errors)
    if not changes:
        return actor
    with transaction.atomic():
        for field, change in changes.items():
            setattr(actor, field, change["after"])
        actor.save(update_fields=list(changes))
        record_event(organisation=actor.organisation, action="user.names_updated", actor=actor,
                     obj=actor, details=changes, request=request)
    return actor
