"""A procedure whose workflow has two validation steps, for the inbox tests: the owning
service instructs (role "instructor", unmapped), another service's members validate (role
"head", mapped) and a third service signs (role "mayor", mapped). Written straight to the
database so the inbox tests do not depend on the publishing path (tested elsewhere)."""

import copy
from datetime import timedelta

from django.utils import timezone

from mairie.procedures.models import (
    Label,
    OpinionRequest,
    ProcedureDefinition,
    ProcedureVersion,
    Workflow,
    WorkflowRoleMapping,
)

from .conftest import SCHEMA

VALIDATION_WORKFLOW = {
    "roles": ["instructor", "head", "mayor"],
    "states": [
        {"key": "brouillon", "label": "Brouillon", "kind": "draft"},
        {"key": "depose", "label": "Déposé", "kind": "submitted"},
        {"key": "instruction", "label": "En instruction", "kind": "instruction"},
        {"key": "validation", "label": "Validation du chef", "kind": "validation"},
        {"key": "signature", "label": "Signature du maire", "kind": "validation"},
        {"key": "accepte", "label": "Accepté", "kind": "final"},
    ],
    "transitions": [
        {"key": "instruire", "label": "Instruire", "from": "depose", "to": "instruction",
         "role": "instructor"},
        {"key": "proposer", "label": "Proposer", "from": "instruction", "to": "validation",
         "role": "instructor"},
        {"key": "valider", "label": "Valider", "from": "validation", "to": "signature",
         "role": "head", "validation": "approve"},
        {"key": "renvoyer", "label": "Renvoyer", "from": ["validation"], "to": "instruction",
         "role": "head", "validation": "reject"},
        {"key": "signer", "label": "Signer", "from": "signature", "to": "accepte",
         "role": "mayor", "validation": "approve", "signature": True},
        {"key": "retirer", "label": "Retirer", "from": ["depose", "signature"],
         "to": "accepte", "role": "applicant"},
    ],
}


def make_validation_procedure(organisation, service, *, head_service, mayor_service,
                              slug="travaux", title="Déclaration de travaux"):
    workflow = Workflow.objects.create(organisation=organisation, name=f"Circuit {slug}",
                                       **copy.deepcopy(VALIDATION_WORKFLOW))
    definition = ProcedureDefinition.objects.create(
        organisation=organisation, slug=slug, title=title, service=service)
    version = ProcedureVersion.objects.create(
        organisation=organisation, definition=definition, number=1,
        schema=copy.deepcopy(SCHEMA), workflow=workflow, published_at=timezone.now())
    definition.current_version = version
    definition.save()
    for role, mapped in (("head", head_service), ("mayor", mayor_service)):
        WorkflowRoleMapping.objects.create(organisation=organisation, definition=definition,
                                           role=role, service=mapped)
    return definition


def label(organisation, name, colour="blue"):
    return Label.objects.create(organisation=organisation, name=name, colour=colour)


def ask_opinion(dossier, service, *, answered=False, by=None):
    return OpinionRequest.objects.create(
        organisation=dossier.organisation, dossier=dossier, service=service,
        requested_by=by, question="Votre avis ?", answer="Favorable" if answered else "",
        answered_at=timezone.now() if answered else None)


def in_days(days, hours=0):
    return timezone.now() + timedelta(days=days, hours=hours)
