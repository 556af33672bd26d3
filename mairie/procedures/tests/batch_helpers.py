"""A procedure for the batch tests: instructors accept adults' dossiers ("accepter", guarded by
`age >= 18`), refuse with a motivation, or ask for documents (a correction: never offered in a
batch). Written straight to the database like the inbox tests' procedures."""

import copy

from django.test import TestCase
from django.urls import reverse

from mairie.procedures.models import (
    ProcedureDefinition,
    ProcedureVersion,
    Workflow,
)

from .agent_helpers import ANSWERS, file_dossier
from .conftest import SCHEMA

BATCH_WORKFLOW = {
    "roles": ["instructor"],
    "states": [
        {"key": "brouillon", "label": "Brouillon", "kind": "draft"},
        {"key": "depose", "label": "Déposé", "kind": "submitted"},
        {"key": "attente", "label": "En attente de pièces", "kind": "waiting"},
        {"key": "accepte", "label": "Accepté", "kind": "final"},
        {"key": "refuse", "label": "Refusé", "kind": "final"},
    ],
    "transitions": [
        {"key": "accepter", "label": "Accepter", "from": "depose", "to": "accepte",
         "role": "instructor", "guard": "age >= 18",
         "guard_message": "Réservé aux demandeurs majeurs.", "actions": ["notify"]},
        {"key": "refuser", "label": "Refuser", "from": "depose", "to": "refuse",
         "role": "instructor", "required_fields": ["motivation"], "actions": ["notify"]},
        {"key": "demander-pieces", "label": "Demander des pièces", "from": "depose",
         "to": "attente", "role": "instructor", "actions": [{"type": "request_correction"}]},
        {"key": "retirer", "label": "Retirer ma demande", "from": "depose", "to": "refuse",
         "role": "applicant"},
    ],
}

INBOX = reverse("procedures:agent-inbox")
CREATE = reverse("procedures:batch-create")
MINOR = {**ANSWERS, "age": 15}


def make_batch_procedure(organisation, service, *, slug="aide-lot", title="Aide par lot"):
    workflow = Workflow.objects.create(organisation=organisation, name=f"Circuit {slug}",
                                       **copy.deepcopy(BATCH_WORKFLOW))
    definition = ProcedureDefinition.objects.create(
        organisation=organisation, slug=slug, title=title, service=service)
    version = ProcedureVersion.objects.create(
        organisation=organisation, definition=definition, number=1,
        schema=copy.deepcopy(SCHEMA), workflow=workflow,
        published_at=definition.created_at)
    definition.current_version = version
    definition.save()
    return definition


def file_many(procedure, applicant, count, *, minors=(), start=1):
    """`count` submitted dossiers numbered from `start`; those whose index (from 0) is in
    `minors` were filed by a 15-year-old (the "accepter" guard is false for them)."""
    return [file_dossier(procedure, applicant, number=f"2026-{start + n:06d}", minutes_ago=n,
                         data=MINOR if n in minors else None)
            for n in range(count)]


def post_batch(client, *, confirm=True, **data):
    """The batch form as the inbox (then its second step) posts it."""
    payload = {"selection": "checked", **data}
    if confirm:
        payload["confirm"] = "1"
    # The batch's task starts when the transaction commits: run it (eagerly) as it would.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(CREATE, payload)
