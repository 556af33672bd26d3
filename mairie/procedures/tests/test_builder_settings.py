"""A procedure's settings in the builder: creation, edits, themes, role mappings, and two
agents editing at once (nothing overwritten, a clear message)."""

from mairie.core.audit.models import AuditEvent
from mairie.procedures.models import ProcedureDefinition, Theme, WorkflowRoleMapping

from .builder_helpers import (  # noqa: F401 (fixtures)
    draft_of,
    manager_fixture,
    settings_data,
    url,
    workflow_fixture,
)
from .conftest import make_workflow


def test_creating_a_procedure_makes_a_draft_with_a_first_page(client, manager, service,
                                                              workflow):
    client.force_login(manager)
    response = client.post(url("builder-create"), settings_data(
        service=service, workflow=workflow, opens_at="2026-01-01T08:00",
        max_submissions="50", audience="anyone"))
    definition = ProcedureDefinition.objects.get(title="Inscription à la cantine")
    assert response.status_code == 302
    assert response["Location"] == url("builder-form", definition.pk)
    assert definition.slug == "inscription-a-la-cantine"  # from the title
    assert definition.audience == "anyone" and definition.max_submissions == 50
    assert definition.current_version is None
    draft = draft_of(definition)
    assert draft.number == 1 and draft.workflow == workflow and draft.published_at is None
    assert [p["key"] for p in draft.schema["pages"]] == ["page_1"]
    event = AuditEvent.objects.get(action="procedures.procedure_created")
    assert event.actor == manager and "workflow" in event.details["changed"]
    listing = client.get(url("builder-list")).content.decode()
    assert "Brouillon (jamais publiée)" in listing


def test_bad_settings_show_errors_next_to_the_inputs_and_keep_the_input(
        client, administrator, service, workflow, procedure):
    client.force_login(administrator)
    response = client.post(url("builder-create"), settings_data(
        service=service, workflow=workflow, title="Aide bis", slug=procedure.slug,
        opens_at="2026-05-01T08:00", closes_at="2026-04-01T08:00"))
    assert response.status_code == 200
    form = response.context["form"]
    assert "closes_at" in form.errors
    content = response.content.decode()
    assert 'value="Aide bis"' in content and "Le formulaire contient des erreurs" in content
    response = client.post(url("builder-create"), settings_data(
        service=service, workflow=workflow, title="Aide bis", slug=procedure.slug))
    assert "Une autre démarche utilise déjà cet identifiant." in \
        response.context["form"].errors["slug"]
    assert not ProcedureDefinition.objects.filter(title="Aide bis").exists()


def test_editing_settings_and_role_mappings(client, manager, procedure, service, other_service):
    client.force_login(manager)
    workflow = procedure.current_version.workflow
    data = settings_data(procedure, service=service, workflow=workflow, title="Aide renommée",
                         slug=procedure.slug, max_submissions="10")
    data.update({"role_instructor_service": str(other_service.pk),
                 "role_instructor_membership": "manager"})
    response = client.post(url("builder-settings", procedure.pk), data)
    assert response.status_code == 302
    procedure.refresh_from_db()
    assert procedure.title == "Aide renommée" and procedure.max_submissions == 10
    mapping = WorkflowRoleMapping.objects.get(definition=procedure)
    assert (mapping.role, mapping.service, mapping.membership_role) == (
        "instructor", other_service, "manager")
    # Same workflow: no draft is needed for settings alone.
    assert draft_of(procedure) is None
    event = AuditEvent.objects.get(action="procedures.settings_saved")
    assert {"title", "max_submissions", "role:instructor"} <= set(event.details["changed"])
    # Back to "the owning service's agents".
    data = settings_data(procedure, service=service, workflow=workflow, title="Aide renommée",
                         slug=procedure.slug)
    data.update({"role_instructor_service": "", "role_instructor_membership": ""})
    client.post(url("builder-settings", procedure.pk), data)
    assert not WorkflowRoleMapping.objects.filter(definition=procedure).exists()
    # Saving without any change writes nothing, not even an audit event.
    before = AuditEvent.objects.count()
    procedure.refresh_from_db()
    client.post(url("builder-settings", procedure.pk),
                settings_data(procedure, service=service, workflow=workflow,
                              title="Aide renommée", slug=procedure.slug))
    assert AuditEvent.objects.count() == before


def test_choosing_another_workflow_goes_to_the_draft(client, manager, procedure, service,
                                                     organisation):
    other = make_workflow(organisation)
    other.name = "Autre circuit"
    other.save()
    client.force_login(manager)
    client.post(url("builder-settings", procedure.pk),
                settings_data(procedure, service=service, workflow=other,
                              title=procedure.title, slug=procedure.slug))
    procedure.refresh_from_db()
    assert procedure.current_version.workflow != other  # the published version is frozen
    assert draft_of(procedure).workflow == other and draft_of(procedure).number == 2


def test_two_agents_editing_the_settings_get_a_clear_message(client, manager, administrator,
                                                             procedure, service):
    workflow = procedure.current_version.workflow
    seen = procedure.updated_at
    client.force_login(administrator)
    client.post(url("builder-settings", procedure.pk),
                settings_data(procedure, service=service, workflow=workflow,
                              title="Titre de l'administrateur", slug=procedure.slug))
    client.force_login(manager)
    data = settings_data(procedure, service=service, workflow=workflow,
                         title="Titre du chef", slug=procedure.slug)
    data["version"] = seen.isoformat()
    response = client.post(url("builder-settings", procedure.pk), data)
    assert response.status_code == 409
    content = response.content.decode()
    assert "Un autre agent a modifié les réglages" in content
    assert 'value="Titre du chef"' in content  # the input is kept
    procedure.refresh_from_db()
    assert procedure.title == "Titre de l'administrateur"
    # The page now carries the new version: saving again, knowingly, goes through.
    data["version"] = response.context["form"].data["version"]
    assert client.post(url("builder-settings", procedure.pk), data).status_code == 302
    procedure.refresh_from_db()
    assert procedure.title == "Titre du chef"


def test_creating_a_theme(client, manager, organisation):
    client.force_login(manager)
    back = url("builder-create")
    response = client.post(url("builder-theme"), {"name": "Enfance", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    theme = Theme.objects.get(organisation=organisation, name="Enfance")
    assert theme.slug == "enfance"
    assert AuditEvent.objects.filter(action="procedures.theme_created").count() == 1
    response = client.post(url("builder-theme"), {"name": "enfance"})
    assert response.context["form"].errors["name"] == ["Ce thème existe déjà."]
    response = client.post(url("builder-theme"), {"name": "Sport",
                                                  "next": "https://ailleurs.example/"})
    assert response["Location"] == url("builder-list")  # never an open redirect
