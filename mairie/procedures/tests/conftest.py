"""Fixtures of the procedures tests: a two-page procedure with a conditional field, published."""

import copy

import pytest

from mairie.core.factories import ServiceFactory, UserFactory
from mairie.core.files.purposes import register_purpose, registered_purposes, unregister_purpose
from mairie.procedures.fieldtypes import FILE_PURPOSE
from mairie.procedures.models import Audience, ProcedureDefinition, Theme, Workflow
from mairie.procedures.services import publish_version

WORKFLOW = {
    "name": "Simple",
    "roles": ["instructor"],
    "states": [
        {"key": "brouillon", "label": "Brouillon", "kind": "draft"},
        {"key": "depose", "label": "Déposé", "kind": "submitted"},
        {"key": "accepte", "label": "Accepté", "kind": "final"},
    ],
    "transitions": [
        {"key": "accepter", "label": "Accepter", "from": "depose", "to": "accepte",
         "role": "instructor", "guard": "", "required_fields": [], "actions": []},
    ],
}

SCHEMA = {"pages": [
    {"key": "identite", "title": "Votre identité", "condition": "", "fields": [
        {"key": "nom", "type": "text", "label": "Nom", "required": True},
        {"key": "age", "type": "number", "label": "Âge", "required": True,
         "options": {"min": 0, "max": 130}},
        {"key": "situation", "type": "choice", "label": "Situation", "required": True,
         "options": {"choices": [{"value": "seul", "label": "Seul"},
                                 {"value": "couple", "label": "En couple"}]}},
        {"key": "conjoint", "type": "text", "label": "Nom du conjoint", "required": True,
         "condition": 'situation == "couple"'},
    ]},
    {"key": "contact", "title": "Vous contacter", "condition": "", "fields": [
        {"key": "courriel", "type": "email", "label": "Courriel", "required": True,
         "prefill": "user.email"},
        {"key": "piece", "type": "file", "label": "Justificatif", "required": False},
    ]},
]}


def make_workflow(organisation):
    return Workflow.objects.create(organisation=organisation, name=WORKFLOW["name"],
                                   states=WORKFLOW["states"],
                                   transitions=WORKFLOW["transitions"], roles=WORKFLOW["roles"])


def make_procedure(organisation, service, *, slug="aide-test", title="Aide de test",
                   audience=Audience.RESIDENTS, actor=None, schema=None, **extra):
    theme, _ = Theme.objects.get_or_create(organisation=organisation, slug="social",
                                           defaults={"name": "Solidarité"})
    definition = ProcedureDefinition.objects.create(
        organisation=organisation, slug=slug, title=title, service=service, theme=theme,
        audience=audience, description="Une aide pour tester le dépôt.",
        documents_to_prepare="Un justificatif de domicile.", **extra)
    publish_version(actor=actor, definition=definition,
                    schema=copy.deepcopy(schema or SCHEMA),
                    workflow=make_workflow(organisation))
    definition.refresh_from_db()
    return definition


@pytest.fixture
def procedure(organisation, service, administrator):
    return make_procedure(organisation, service, actor=administrator)


@pytest.fixture
def open_procedure(organisation, service, administrator):
    """A procedure anyone may file, without an account."""
    return make_procedure(organisation, service, slug="signalement-test",
                          title="Signalement de test", audience=Audience.ANYONE,
                          actor=administrator)


@pytest.fixture
def other_resident(organisation):
    return UserFactory(organisation=organisation, email="voisin@example.org")


@pytest.fixture
def foreign_resident(other_organisation):
    return UserFactory(organisation=other_organisation, email="ailleurs@example.org")


@pytest.fixture
def foreign_procedure(other_organisation):
    service = ServiceFactory(organisation=other_organisation, name="État civil", slug="ec")
    return make_procedure(other_organisation, service, slug="aide-ailleurs",
                          title="Aide d'ailleurs")


@pytest.fixture
def dossier_purpose():
    """A known "dossier-file" purpose for the test, whatever the app registered."""
    previous = registered_purposes().get(FILE_PURPOSE)
    register_purpose(FILE_PURPOSE, allowed={"application/pdf", "image/jpeg", "image/png"},
                     max_bytes=5 * 1024 * 1024)
    yield
    unregister_purpose(FILE_PURPOSE)
    if previous is not None:
        register_purpose(previous.name, allowed=previous.allowed, max_bytes=previous.max_bytes,
                         label=previous.label, can_read=previous.can_read,
                         can_upload=previous.can_upload)
