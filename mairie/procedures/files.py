"""The upload purpose of the files attached to a dossier ("dossier-file").

Registered once at start-up (`apps.py`). A dossier's file may be read by its applicant and by
the agents of the service that owns the procedure; nobody else, whatever the file's id.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mairie.core.files.purposes import register_purpose

DOSSIER_FILE_PURPOSE = "dossier-file"
DOSSIER_FILE_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})
DOSSIER_FILE_MAX_BYTES = 10 * 1024 * 1024


def can_read_dossier_file(user, stored_file) -> bool:
    from mairie.core.organisation.models import Membership

    from .models import DossierFile

    if not getattr(user, "is_authenticated", False):
        return False
    links = DossierFile.objects.filter(stored_file=stored_file,
                                       organisation_id=stored_file.organisation_id)
    if links.filter(dossier__applicant=user).exists():
        return True
    service_ids = links.values("dossier__version__definition__service_id")
    return Membership.objects.filter(user=user, organisation_id=stored_file.organisation_id,
                                     service_id__in=service_ids).exists()


def register_dossier_file_purpose() -> None:
    register_purpose(
        DOSSIER_FILE_PURPOSE,
        allowed=DOSSIER_FILE_TYPES,
        max_bytes=DOSSIER_FILE_MAX_BYTES,
        label=_("Pièce jointe d'un dossier"),
        can_read=can_read_dossier_file,
    )
