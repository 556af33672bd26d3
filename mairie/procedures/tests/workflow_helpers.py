"""A workflow with a three-level validation chain (instructor → head of service → DGS →
mayor's signature), corrections, opinions, a refusal with a letter and the applicant's
withdrawal; the procedure that uses it and the people who play its roles."""

import copy

from mairie.core.factories import ServiceFactory, agent_factory
from mairie.core.organisation.models import Role
from mairie.procedures.models import (
    ProcedureDefinition,
    Workflow,
    WorkflowRoleMapping,
)
from mairie.procedures.services import publish_version

from .agent_helpers import file_dossier
from .conftest import SCHEMA

STATES = [
    {"key": "brouillon", "label": "Brouillon", "kind": "draft"},
    {"key": "depose", "label": "Déposé", "kind": "submitted"},
    {"key": "instruction", "label": "En instruction", "kind": "instruction"},
    {"key": "attente", "label": "En attente de pièces", "kind": "waiting"},
    {"key": "validation_chef", "label": "Validation du chef de service", "kind": "validation",
     "public_label": "En cours de validation"},
    {"key": "validation_dgs", "label": "Validation du DGS", "kind": "validation",
     "public_label": "En cours de validation", "deadline_days": 5},
    {"key": "signature", "label": "Signature du maire", "kind": "validation",
     "public_label": "En cours de validation"},
    {"key": "accorde", "label": "Accordé", "kind": "final"},
    {"key": "refuse", "label": "Refusé", "kind": "final"},
    {"key": "retire", "label": "Retiré par le demandeur", "kind": "final",
     "public_label": "Retiré"},
]

TRANSITIONS = [
    {"key": "prendre", "label": "Prendre en charge", "from": "depose", "to": "instruction",
     "role": "instructor", "actions": [{"type": "assign", "to": "self"},
                                       {"type": "deadline", "days": 30}]},
    {"key": "proposer", "label": "Proposer l'accord", "from": "instruction",
     "to": "validation_chef", "role": "instructor", "required_fields": ["comment"],
     "validation": "approve", "guard": "age >= 18",
     "guard_message": "Réservé aux demandeurs majeurs.",
     "actions": [{"type": "notify", "to": "role:head"}]},
    {"key": "demander-pieces", "label": "Demander des pièces", "from": "instruction",
     "to": "attente", "role": "instructor", "actions": [{"type": "request_correction"}]},
    {"key": "avis", "label": "Demander un avis", "from": "instruction", "to": "instruction",
     "role": "instructor", "public": False, "actions": [{"type": "request_opinion"}]},
    {"key": "refuser", "label": "Refuser", "from": ["depose", "instruction"], "to": "refuse",
     "role": "instructor", "required_fields": ["motivation"], "style": "danger",
     "actions": ["notify", {"type": "document", "template": "lettre_refus",
                            "visible_to_applicant": True}]},
    {"key": "valider-chef", "label": "Valider", "from": "validation_chef",
     "to": "validation_dgs", "role": "head", "validation": "approve",
     "required_fields": ["comment"], "actions": [{"type": "notify", "to": "role:dgs"}]},
    {"key": "renvoyer-chef", "label": "Renvoyer à l'instruction", "from": "validation_chef",
     "to": "instruction", "role": "head", "validation": "reject",
     "required_fields": ["motivation"], "style": "secondary"},
    {"key": "valider-dgs", "label": "Valider", "from": "validation_dgs", "to": "signature",
     "role": "dgs", "validation": "approve"},
    {"key": "signer", "label": "Signer la décision", "from": "signature", "to": "accorde",
     "role": "mayor", "validation": "approve", "signature": True, "actor_title": "Le maire",
     "actions": [{"type": "document", "template": "lettre_decision"},
                 {"type": "document", "template": "note_interne",
                  "visible_to_applicant": False},
                 "notify", {"type": "deadline", "clear": True}]},
    {"key": "retirer", "label": "Retirer ma demande", "from": ["depose", "instruction"],
     "to": "retire", "role": "applicant", "required_fields": ["comment"], "style": "danger",
     "actions": [{"type": "notify", "to": "role:instructor"}]},
]

DOCUMENTS = {
    "lettre_decision": {
        "title": "Lettre de décision",
        "body": ("Madame, Monsieur {{ applicant.name }},\n\nVotre demande « {{ procedure.title "
                 "}} » n° {{ dossier.number }} est accordée.\n\nSituation déclarée : "
                 "{{ data.situation }}.\n\n{{ organisation.name }}"),
    },
    "lettre_refus": {
        "title": "Lettre de refus",
        "body": "Votre demande n° {{ dossier.number }} est refusée.\n\nMotif : "
                "{{ decision.motivation }}",
    },
    "note_interne": {"title": "Note interne", "body": "Dossier {{ dossier.number }}."},
}

ROLES = ["instructor", {"key": "head", "label": "Chef du service instructeur"}, "dgs",
         "mayor"]


def chain_workflow(organisation, **changes) -> Workflow:
    values = {"states": STATES, "transitions": TRANSITIONS, "roles": ROLES,
              "documents": DOCUMENTS, **changes}
    return Workflow.objects.create(organisation=organisation, name="Accord en trois niveaux",
                                   **copy.deepcopy(values))


class Chain:
    """The procedure, its workflow and the agents playing each role."""

    def __init__(self, organisation, service, administrator):
        self.direction = ServiceFactory(organisation=organisation, name="Direction générale",
                                        slug="dg")
        self.cabinet = ServiceFactory(organisation=organisation, name="Cabinet du maire",
                                      slug="cabinet")
        self.instructor = agent_factory(service=service, email="instructrice@valmont.example",
                                        first_name="Inès", last_name="Tructrice")
        self.head = agent_factory(service=service, role=Role.MANAGER,
                                  email="chef@valmont.example", first_name="Charles",
                                  last_name="Chef")
        self.dgs = agent_factory(service=self.direction, role=Role.DIRECTOR,
                                 email="dgs@valmont.example", first_name="Denise",
                                 last_name="Générale")
        self.mayor = agent_factory(service=self.cabinet, role=Role.ELECTED,
                                   email="maire@valmont.example", first_name="Marc",
                                   last_name="Maire")
        self.workflow = chain_workflow(organisation)
        self.definition = ProcedureDefinition.objects.create(
            organisation=organisation, slug="aide-chaine", title="Aide à valider",
            service=service)
        for role, svc, membership_role in (("head", service, Role.MANAGER),
                                           ("dgs", self.direction, Role.DIRECTOR),
                                           ("mayor", self.cabinet, Role.ELECTED)):
            WorkflowRoleMapping.objects.create(organisation=organisation,
                                               definition=self.definition, role=role,
                                               service=svc, membership_role=membership_role)
        publish_version(actor=administrator, definition=self.definition,
                        schema=copy.deepcopy(SCHEMA), workflow=self.workflow)
        self.definition.refresh_from_db()

    def dossier(self, applicant=None, *, number="2026-000042", **kwargs):
        return file_dossier(self.definition, applicant, number=number, **kwargs)

