"""Shared set-up of the processing tests: a workflow with a "waiting for the applicant" state,
a procedure using it, and submitted dossiers written straight to the database."""

import copy

from mairie.core.files.testing import exe_bytes, pdf_bytes, upload
from mairie.procedures.models import Audience, ProcedureDefinition, Theme, Workflow
from mairie.procedures.services import publish_version

from .agent_helpers import file_dossier
from .conftest import SCHEMA

WAITING_WORKFLOW = {
    "roles": ["instructor"],
    "states": [
        {"key": "brouillon", "label": "Brouillon", "kind": "draft"},
        {"key": "depose", "label": "Déposé", "kind": "submitted",
         "public_label": "Reçu par la mairie"},
        {"key": "a_completer", "label": "À compléter", "kind": "waiting",
         "public_label": "En attente de vos corrections"},
        {"key": "accepte", "label": "Accepté", "kind": "final"},
    ],
    "transitions": [
        {"key": "accepter", "label": "Accepter", "from": "depose", "to": "accepte",
         "role": "instructor"},
    ],
}


def make_waiting_procedure(organisation, service, *, actor=None, slug="aide-corrections",
                           audience=Audience.RESIDENTS):
    workflow = Workflow.objects.create(organisation=organisation, name="Avec corrections",
                                       **copy.deepcopy(WAITING_WORKFLOW))
    theme, _ = Theme.objects.get_or_create(organisation=organisation, slug="social",
                                           defaults={"name": "Solidarité"})
    definition = ProcedureDefinition.objects.create(
        organisation=organisation, slug=slug, title="Aide avec corrections", service=service,
        theme=theme, audience=audience)
    publish_version(actor=actor, definition=definition, schema=copy.deepcopy(SCHEMA),
                    workflow=workflow)
    definition.refresh_from_db()
    return definition


def disguised_exe():
    """An executable renamed "justificatif.pdf" and announced as a PDF by the browser."""
    return upload("justificatif.pdf", exe_bytes(), "application/pdf")


def a_pdf(name="piece.pdf", text="Attestation"):
    return upload(name, pdf_bytes(text), "application/pdf")


__all__ = ["a_pdf", "disguised_exe", "file_dossier", "make_waiting_procedure"]
