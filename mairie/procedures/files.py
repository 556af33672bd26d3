"""The upload purpose of the files attached to a dossier ("dossier-file").

Registered once at start-up (`apps.py`). A dossier's file may be read by its applicant and by
the agents who may open the dossier in their workspace (`queries.dossier_for_agent`'s rule:
the owning or mapped services, directors and administrators); nobody else, whatever the id.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mairie.core.files.purposes import register_purpose

DOSSIER_FILE_PURPOSE = "dossier-file"
DOSSIER_FILE_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})
DOSSIER_FILE_MAX_BYTES = 10 * 1024 * 1024


def can_read_dossier_file(user, stored_file) -> bool:
    from .models import DossierFile
    from .queries import dossiers_readable_by_agent

    if not getattr(user, "is_authenticated", False):
        return False
    links = DossierFile.objects.filter(stored_file=stored_file,
                                       organisation_id=stored_file.organisation_id)
    if links.filter(dossier__applicant=user).exists():
        return True
    dossier_ids = links.values("dossier_id")
    return dossiers_readable_by_agent(user, stored_file.organisation).filter(
        pk__in=dossier_ids).exists()


def register_dossier_file_purpose() -> None:
    register_purpose(
        DOSSIER_FILE_PURPOSE,
        allowed=DOSSIER_FILE_TYPES,
        max_bytes=DOSSIER_FILE_MAX_BYTES,
        label=_("Pièce jointe d'un dossier"),
        can_read=can_read_dossier_file,
    )
