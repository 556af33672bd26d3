"""Publishing freezes a version; a dossier keeps the version it was started with."""

import copy

import pytest
from django.core.exceptions import ValidationError

from mairie.core.audit.models import AuditEvent
from mairie.procedures.models import ImmutableVersion, ProcedureVersion
from mairie.procedures.services import publish_version, start_dossier

from .conftest import SCHEMA, make_workflow


def test_a_published_version_cannot_be_changed_nor_deleted(procedure):
    version = procedure.current_version
    assert version.number == 1 and version.published_at is not None
    version.schema["pages"][0]["title"] = "Changé en douce"
    with pytest.raises(ImmutableVersion):
        version.save()
    with pytest.raises(ImmutableVersion):
        version.delete()
    version.refresh_from_db()
    assert version.schema["pages"][0]["title"] == "Votre identité"


def test_publishing_again_makes_a_new_version_and_started_dossiers_keep_theirs(
        procedure, resident, administrator):
    dossier = start_dossier(actor_or_none=resident, definition=procedure, request=None)
    changed = copy.deepcopy(SCHEMA)
    changed["pages"][0]["fields"][0]["label"] = "Nom de famille"
    v2 = publish_version(actor=administrator, definition=procedure, schema=changed,
                         workflow=procedure.current_version.workflow)
    procedure.refresh_from_db()
    dossier.refresh_from_db()
    assert v2.number == 2 and procedure.current_version == v2
    assert dossier.version.number == 1
    assert dossier.version.schema["pages"][0]["fields"][0]["label"] == "Nom"
    # The caller's dict may change afterwards: the frozen copy does not.
    changed["pages"][0]["title"] = "Autre"
    assert ProcedureVersion.objects.get(pk=v2.pk).schema["pages"][0]["title"] == "Votre identité"
    assert AuditEvent.objects.filter(action="procedures.version_published").count() == 2


def test_an_invalid_schema_is_refused_with_a_message(procedure, administrator):
    broken = copy.deepcopy(SCHEMA)
    broken["pages"][0]["fields"][3]["condition"] = "situation == "  # syntax error
    with pytest.raises(ValidationError) as exc:
        publish_version(actor=administrator, definition=procedure, schema=broken,
                        workflow=procedure.current_version.workflow)
    assert exc.value.messages
    procedure.refresh_from_db()
    assert procedure.current_version.number == 1


def test_a_workflow_without_a_submitted_state_is_refused(procedure, administrator, organisation):
    workflow = make_workflow(organisation)
    workflow.states = [s for s in workflow.states if s["kind"] != "submitted"]
    workflow.transitions = []
    workflow.save()
    with pytest.raises(ValidationError):
        publish_version(actor=administrator, definition=procedure, schema=SCHEMA,
                        workflow=workflow)
