"""Writes to an organisation's own settings (identity, contact, legal fields, theme, logo).

Two administrators may edit the settings at the same time; the loser of the race must not
silently overwrite the winner's changes. The caller passes the `updated_at` it started from
(`expected_version`); if the row changed since, `StaleSettings` is raised and nothing is written.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from mairie.core.audit.services import record_event
from mairie.core.organisation.queries import is_org_administrator

from .colours import validate_contrast_with_white
from .models import Organisation

SETTINGS_FIELDS = (
    "name", "address", "phone", "email", "website", "siret",
    "legal_representative", "dpo_name", "dpo_email", "host_name",
    "accessibility_status", "accessibility_audit_date", "accessibility_rate",
    "personal_data_retention_months", "time_zone",
    "primary_colour", "secondary_colour",
)


class StaleSettings(Exception):
    """The settings were changed by someone else since the editor loaded them."""

    def __init__(self, current: Organisation):
        super().__init__("organisation settings changed concurrently")
        self.current = current


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _check_theme(organisation: Organisation) -> None:
    errors = {}
    for name in ("primary_colour", "secondary_colour"):
        try:
            validate_contrast_with_white(getattr(organisation, name))
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)


def _store_logo(*, actor, organisation: Organisation, upload: UploadedFile,
                request: HttpRequest | None):
    """Store the logo through the files service (type checked by content, size, antivirus);
    public, since every page shows it, signed in or not."""
    from mairie.core.files.services import store_upload

    try:
        return store_upload(actor=actor, organisation=organisation, uploaded_file=upload,
                            purpose="logo", is_public=True, request=request)
    except ValidationError as exc:
        raise ValidationError({"logo": exc.messages}) from exc


@transaction.atomic
def update_organisation_settings(
    *,
    actor,
    organisation: Organisation,
    changes: dict[str, Any],
    expected_version: datetime.datetime | None,
    logo: UploadedFile | None = None,
    remove_logo: bool = False,
    request: HttpRequest | None = None,
) -> list[str]:
    """Apply `changes` to `organisation` and return the names of the fields that changed.

    `expected_version` is the `updated_at` the editor saw; pass None only from trusted code
    that does not edit interactively (commands, demo data).
    """
    if not is_org_administrator(actor, organisation):
        raise PermissionDenied(_("Seuls les administrateurs de la collectivité modifient ses "
                                 "paramètres."))
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    org = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if expected_version is not None and org.updated_at != expected_version:
        raise StaleSettings(org)
    tracked = (*SETTINGS_FIELDS, "logo_id")
    before = {name: _jsonable(getattr(org, name)) for name in tracked}
    for name, value in changes.items():
        setattr(org, name, value)
    org.full_clean(exclude=["logo", "slug", "is_default"])
    _check_theme(org)
    if logo is not None:
        org.logo = _store_logo(actor=actor, organisation=org, upload=logo, request=request)
    elif remove_logo:
        org.logo = None
    after = {name: _jsonable(getattr(org, name)) for name in tracked}
    changed = [name for name in tracked if before[name] != after[name]]
    if not changed:
        return []
    org.save()
    record_event(
        organisation=org, action="tenancy.settings_changed", actor=actor, obj=org,
        details={"changed": changed,
                 "before": {k: before[k] for k in changed},
                 "after": {k: after[k] for k in changed}},
        request=request)
    # The caller's instance (often request.organisation) shows the new values at once.
    for name in (*SETTINGS_FIELDS, "logo_id", "updated_at"):
        setattr(organisation, name, getattr(org, name))
    return changed
