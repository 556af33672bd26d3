"""Set-up of the retention tests: a procedure with an identity document and another file
field, decided dossiers with files, messages and notes, written through the real services."""

from __future__ import annotations

import copy
from datetime import timedelta

from django.utils import timezone

from mairie.core.files.services import store_upload
from mairie.core.files.testing import pdf_bytes, upload
from mairie.procedures.files import DOSSIER_FILE_PURPOSE
from mairie.procedures.models import (
    DossierAnnotation,
    DossierEvent,
    DossierFile,
    DossierMessage,
)
from mairie.procedures.models_retention import RetentionPolicy
from mairie.procedures.processing import MESSAGE_FILE_PURPOSE

from .agent_helpers import file_dossier
from .conftest import make_procedure

RETENTION_SCHEMA = {"pages": [
    {"key": "demande", "title": "Votre demande", "condition": "", "fields": [
        {"key": "nom", "type": "text", "label": "Nom", "required": True},
        {"key": "piece_identite", "type": "file", "label": "Pièce d'identité",
         "required": False},
        {"key": "justificatif", "type": "file", "label": "Justificatif de domicile",
         "required": False},
    ]},
]}

ANSWERS = {"nom": "Martin Secret"}


def make_retention_procedure(organisation, service, *, slug="aide-conservation", actor=None):
    return make_procedure(organisation, service, slug=slug, title="Aide à conserver",
                          schema=copy.deepcopy(RETENTION_SCHEMA), actor=actor)


def set_policy(definition, *, months=12, mode="anonymise", identity_fields=("piece_identite",)):
    return RetentionPolicy.objects.update_or_create(
        definition=definition,
        defaults={"organisation": definition.organisation, "months": months, "mode": mode,
                  "identity_fields": list(identity_fields)})[0]


def _store(dossier, name, *, purpose=DOSSIER_FILE_PURPOSE):
    return store_upload(actor=None, organisation=dossier.organisation, purpose=purpose,
                        uploaded_file=upload(name, pdf_bytes(name), "application/pdf"))


def decided_dossier(definition, applicant, *, number, days_ago: int | None = 1,
                    files=("piece_identite", "justificatif"), message=True):
    """A dossier decided `days_ago` days ago (None: still in instruction), with a stored file
    per key of `files`, a message with an attachment from the applicant and a private note."""
    dossier = file_dossier(definition, applicant, number=number, data=dict(ANSWERS),
                           state="depose" if days_ago is None else "accepte")
    for key in files:
        stored = _store(dossier, f"{key}.pdf")
        DossierFile.objects.create(organisation=dossier.organisation, dossier=dossier,
                                   field_key=key, stored_file=stored)
        dossier.data[key] = str(stored.pk)
    dossier.page_inputs = {"demande": {"nom": ["Martin Secret"]}}
    dossier.search_text = "martin secret " + number
    dossier.processing_data = {"motivation": "Revenu de M. Martin Secret suffisant"}
    if days_ago is not None:
        dossier.decided_at = timezone.now() - timedelta(days=days_ago)
        DossierEvent.objects.create(
            organisation=dossier.organisation, dossier=dossier, kind="transition",
            details={"key": "accepter", "to": "accepte",
                     "values": {"motivation": "Revenu de M. Martin Secret suffisant"}})
    dossier.save()
    if message:
        DossierMessage.objects.create(
            organisation=dossier.organisation, dossier=dossier, author=applicant,
            from_applicant=True, body="Mon numéro est le 06 12 34 56 78",
            attachment=_store(dossier, "message.pdf", purpose=MESSAGE_FILE_PURPOSE))
        DossierAnnotation.objects.create(organisation=dossier.organisation, dossier=dossier,
                                         body="M. Martin Secret a appelé")
    return dossier


def file_rows_of(dossier):
    """The stored-file ids linked to `dossier` (fields and message attachments)."""
    ids = set(DossierFile.objects.filter(dossier=dossier).values_list("stored_file_id",
                                                                       flat=True))
    ids |= set(DossierMessage.objects.filter(dossier=dossier, attachment__isnull=False)
               .values_list("attachment_id", flat=True))
    return ids
