"""Preview (nothing saved) and publication of the draft: the published version is frozen,
the next edit starts the draft of the next version, dossiers keep their version."""

import copy

import pytest

from mairie.core.audit.models import AuditEvent
from mairie.procedures import builder
from mairie.procedures.models import (
    Dossier,
    ImmutableVersion,
    ProcedureDefinition,
    ProcedureVersion,
)
from mairie.procedures.services import publish_version, start_dossier

from .builder_helpers import (  # noqa: F401 (fixtures)
    draft_of,
    field_data,
    manager_fixture,
    post_action,
    revision,
    settings_data,
    url,
    workflow_fixture,
)
from .conftest import SCHEMA


@pytest.fixture
def designer(client, manager, procedure):
    client.force_login(manager)
    client.post(url("builder-form", procedure.pk), {"action": "start"})
    return manager


def test_publishing_the_draft_freezes_it_and_the_next_edit_starts_a_new_draft(
        client, designer, procedure, resident):
    old_dossier = start_dossier(actor_or_none=resident, definition=procedure, request=None)
    client.post(url("builder-field-add", procedure.pk, "contact"),
                field_data(procedure, type="text", label="Commune", required=None))
    draft = draft_of(procedure)
    content = client.get(url("builder-publish", procedure.pk)).content.decode()
    assert "Publier la version 2" in content
    response = client.post(url("builder-publish", procedure.pk),
                           {"revision": revision(procedure)}, follow=True)
    assert "La version 2 est publiée" in response.content.decode()
    procedure.refresh_from_db()
    version = procedure.current_version
    assert version.pk == draft.pk and version.number == 2  # the draft row itself
    assert version.published_by == designer and version.published_at is not None
    assert builder.REVISION not in version.schema
    assert version.schema["pages"][1]["fields"][-1]["key"] == "commune"
    with pytest.raises(ImmutableVersion):
        version.save()
    event = AuditEvent.objects.get(action="procedures.version_published", actor=designer)
    assert event.details["number"] == 2
    # The versions list: date and publisher.
    content = response.content.decode()
    assert "Publiée, en service" in content and "Publiée, remplacée" in content
    assert str(designer) in content
    # Dossiers keep their version; new ones get the new one.
    old_dossier.refresh_from_db()
    assert old_dossier.version.number == 1
    new_dossier = start_dossier(actor_or_none=resident, definition=procedure, request=None)
    assert new_dossier.version == version
    # Editing again prepares version 3 from version 2.
    client.post(url("builder-form", procedure.pk), {"action": "start"})
    next_draft = draft_of(procedure)
    assert next_draft.number == 3 and next_draft.pk != version.pk
    assert next_draft.schema["pages"] == version.schema["pages"]


def test_a_new_procedure_is_published_into_the_catalogue(client, manager, service, workflow):
    client.force_login(manager)
    client.post(url("builder-create"), settings_data(service=service, workflow=workflow,
                                                     audience="anyone"))
    definition = ProcedureDefinition.objects.get(title="Inscription à la cantine")
    content = client.get(url("builder-publish", definition.pk)).content.decode()
    assert "Page « Première page » : ajoutez au moins un champ." in content
    response = client.post(url("builder-publish", definition.pk),
                           {"revision": revision(definition)}, follow=True)
    assert "pas publiée : Page « Première page »" in response.content.decode()
    definition.refresh_from_db()
    assert definition.current_version is None
    client.post(url("builder-field-add", definition.pk, "page_1"),
                field_data(definition, type="text", label="Nom de l'enfant"))
    client.post(url("builder-publish", definition.pk), {"revision": revision(definition)})
    definition.refresh_from_db()
    assert definition.current_version.number == 1
    client.logout()
    assert "Inscription à la cantine" in client.get("/demarches/").content.decode()


def test_publishing_a_stale_draft_is_refused(client, designer, procedure):
    stale = revision(procedure)
    post_action(client, procedure, "add_page", title="Encore une")
    response = client.post(url("builder-publish", procedure.pk), {"revision": stale},
                           follow=True)
    assert "Un autre agent a modifié le formulaire" in response.content.decode()
    procedure.refresh_from_db()
    assert procedure.current_version.number == 1


def test_publish_version_without_a_draft_still_creates_a_new_row(procedure, administrator):
    version = publish_version(actor=administrator, definition=procedure,
                              schema=copy.deepcopy(SCHEMA),
                              workflow=procedure.current_version.workflow)
    assert version.number == 2 and ProcedureVersion.objects.filter(
        definition=procedure).count() == 2


def test_a_draft_keeps_a_free_number_when_someone_published_meanwhile(procedure, manager,
                                                                      administrator):
    draft = builder.ensure_draft(actor=manager, definition=procedure)
    assert draft.number == 2
    publish_version(actor=administrator, definition=procedure, schema=copy.deepcopy(SCHEMA),
                    workflow=procedure.current_version.workflow)  # v3, outside the builder
    version = builder.publish_draft(actor=manager, draft=draft,
                                    expected_revision=builder.revision_of(draft))
    procedure.refresh_from_db()
    assert version.number == 4 and procedure.current_version == version


def test_the_preview_shows_the_draft_as_a_resident_without_creating_a_dossier(
        client, designer, procedure):
    client.post(url("builder-page", procedure.pk, "contact"), {
        "revision": revision(procedure), "title": "Vous contacter", "key": "contact",
        "condition": "age >= 18"})
    response = client.get(url("builder-preview", procedure.pk))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Aperçu — rien n'est enregistré." in content
    # Until the age is known, the adults-only page is not counted.
    assert "Votre identité" in content and "Étape 1 sur 1" in content
    assert 'data-condition="situation == &quot;couple&quot;"' in content
    page = url("builder-preview-page", procedure.pk, "identite")
    response = client.post(page, {"action": "next", "nom": "", "age": "12"})
    assert response.status_code == 200
    assert "Le formulaire contient des erreurs" in response.content.decode()
    assert 'value="12"' in response.content.decode()
    # A minor: the "contact" page is skipped, the preview ends with the summary.
    response = client.post(page, {"action": "next", "nom": "Martin", "age": "12",
                                  "situation": "seul"})
    assert response.status_code == 200 and response.context["done"]
    assert "Récapitulatif" in response.content.decode()
    # An adult: on to the second page.
    response = client.post(page, {"action": "next", "nom": "Martin", "age": "40",
                                  "situation": "seul"})
    assert response["Location"] == url("builder-preview-page", procedure.pk, "contact")
    response = client.get(response["Location"])
    assert 'value="chef@valmont.example"' in response.content.decode()  # prefill
    assert Dossier.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="procedures.dossier").exists()
    client.get(url("builder-preview", procedure.pk) + "?restart=1")
    assert "procedures_builder_preview" not in client.session


def test_the_preview_of_a_published_procedure_without_draft(client, manager, procedure):
    client.force_login(manager)
    response = client.get(url("builder-preview", procedure.pk))
    assert response.status_code == 200 and response.context["version"].number == 1
    assert draft_of(procedure) is None
