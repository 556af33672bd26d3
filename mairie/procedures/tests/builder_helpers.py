"""Shared bits of the builder tests: who designs, and posting the builder's forms.

Fixtures are defined as `<name>_fixture` with `name=<name>`: test modules import them
under that name, so a test argument never shadows an import."""

import pytest
from django.urls import reverse

from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Role
from mairie.procedures import builder
from mairie.procedures.models import ProcedureVersion

from .conftest import make_workflow


@pytest.fixture(name="manager")
def manager_fixture(service):
    """The head of the service that owns `procedure`."""
    return agent_factory(service=service, role=Role.MANAGER, email="chef@valmont.example")


@pytest.fixture(name="other_manager")
def other_manager_fixture(other_service):
    """The head of another service of the same organisation."""
    return agent_factory(service=other_service, role=Role.MANAGER,
                         email="chef-urba@valmont.example")


@pytest.fixture(name="workflow")
def workflow_fixture(organisation):
    return make_workflow(organisation)


def url(name, *args):
    return reverse(f"procedures:{name}", args=args)


def draft_of(definition) -> ProcedureVersion | None:
    return definition.versions.filter(published_at__isnull=True).first()


def revision(definition) -> int:
    return builder.revision_of(draft_of(definition))


def settings_data(definition=None, *, service, workflow, **changes):
    data = {
        "title": "Inscription à la cantine", "slug": "", "description": "Pour l'année.",
        "documents_to_prepare": "", "service": str(service.pk), "theme": "",
        "audience": "residents", "opens_at": "", "closes_at": "", "max_submissions": "",
        "workflow": str(workflow.pk),
        "version": definition.updated_at.isoformat() if definition else "",
    }
    data.update(changes)
    return data


def field_data(definition, **values):
    data = {"revision": revision(definition), "label": "", "key": "", "help": "",
            "required": "on", "condition": ""}
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


def post_action(client, definition, action, *, follow=False, **values):
    return client.post(url("builder-form", definition.pk),
                       {"revision": revision(definition), "action": action, **values},
                       follow=follow)
