"""Shared set-up of the automation tests: a civil-status procedure whose instruction has a
two-month deadline, and dossiers filed through the real submission service."""

import copy
from datetime import timedelta

from django.utils import timezone

from mairie.procedures import services
from mairie.procedures.models import (
    AutomationSettings,
    Dossier,
    ProcedureDefinition,
    Theme,
    Workflow,
)

CIVIL_WORKFLOW = {
    "roles": ["instructor"],
    "states": [
        {"key": "brouillon", "label": "Brouillon", "kind": "draft"},
        {"key": "depose", "label": "Déposé", "kind": "submitted"},
        {"key": "instruction", "label": "En instruction", "kind": "instruction",
         "deadline_days": 60},
        {"key": "a_completer", "label": "À compléter", "kind": "waiting"},
        {"key": "accepte", "label": "Accepté", "kind": "final",
         "public_label": "Demande acceptée"},
        {"key": "refuse", "label": "Refusé", "kind": "final", "public_label": "Demande refusée"},
    ],
    "transitions": [
        {"key": "instruire", "label": "Instruire", "from": "depose", "to": "instruction",
         "role": "instructor"},
        {"key": "accepter", "label": "Accepter", "from": ["depose", "instruction"],
         "to": "accepte", "role": "instructor", "actions": ["notify"]},
        {"key": "refuser", "label": "Refuser", "from": "instruction", "to": "refuse",
         "role": "instructor", "required_fields": ["motivation"], "actions": ["notify"]},
        {"key": "completer", "label": "Demander un complément", "from": "instruction",
         "to": "a_completer", "role": "instructor",
         "actions": [{"type": "request_correction"}]},
    ],
}

CIVIL_SCHEMA = {"pages": [
    {"key": "demande", "title": "Votre demande", "condition": "", "fields": [
        {"key": "categorie", "type": "choice", "label": "Acte demandé", "required": True,
         "options": {"choices": [{"value": "naissance", "label": "Acte de naissance"},
                                 {"value": "mariage", "label": "Acte de mariage"}]}},
        {"key": "nom", "type": "text", "label": "Nom", "required": True},
    ]},
]}


def make_civil_procedure(organisation, service, *, actor=None, slug="acte-etat-civil"):
    workflow = Workflow.objects.create(organisation=organisation, name="État civil",
                                       **copy.deepcopy(CIVIL_WORKFLOW))
    theme, _ = Theme.objects.get_or_create(organisation=organisation, slug="etat-civil",
                                           defaults={"name": "État civil"})
    definition = ProcedureDefinition.objects.create(
        organisation=organisation, slug=slug, title="Demande d'acte d'état civil",
        service=service, theme=theme)
    services.publish_version(actor=actor, definition=definition,
                             schema=copy.deepcopy(CIVIL_SCHEMA), workflow=workflow)
    definition.refresh_from_db()
    return definition


def automate(definition, **values) -> AutomationSettings:
    settings, _ = AutomationSettings.objects.update_or_create(
        definition=definition, defaults={"organisation": definition.organisation, **values})
    return settings


def submit(definition, applicant, *, categorie="naissance", nom="Martin") -> Dossier:
    """A dossier filed by `applicant` through `services.submit_dossier` (hooks included)."""
    version = definition.current_version
    draft = Dossier.objects.create(
        organisation=definition.organisation, version=version, applicant=applicant,
        applicant_email=applicant.email, state="brouillon",
        data={"categorie": categorie, "nom": nom},
        page_inputs={"demande": {"categorie": [categorie], "nom": [nom]}})
    return services.submit_dossier(actor=applicant, dossier=draft)


def in_instruction(dossier, *, days_left: float, assigned_to=None) -> Dossier:
    """Put `dossier` in instruction with a deadline `days_left` days away (negative: past)."""
    deadline = timezone.now() + timedelta(days=days_left)
    Dossier.objects.filter(pk=dossier.pk).update(
        state="instruction", state_entered_at=deadline - timedelta(days=60),
        deadline_at=deadline, assigned_to=assigned_to)
    dossier.refresh_from_db()
    return dossier
