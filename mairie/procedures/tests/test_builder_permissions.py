"""Who may design which procedure: administrators (all), managers and directors of the owning
service; a plain agent, another service's manager, another organisation and residents may not."""

import pytest

from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Role
from mairie.procedures.models import ProcedureDefinition
from mairie.procedures.rules import may_design

from .builder_helpers import (  # noqa: F401 (fixtures)
    manager_fixture,
    other_manager_fixture,
    settings_data,
    url,
    workflow_fixture,
)
from .conftest import make_procedure

PAGES = ("builder-settings", "builder-form", "builder-preview", "builder-publish")


def test_may_design_follows_roles_and_services(organisation, other_organisation, procedure,
                                               administrator, manager, other_manager, agent,
                                               resident, foreign_agent, service):
    director = agent_factory(service=service, role=Role.DIRECTOR, email="dgs@valmont.example")
    assert may_design(administrator, procedure, organisation)
    assert may_design(manager, procedure, organisation)
    assert may_design(director, procedure, organisation)
    assert may_design(other_manager, None, organisation)  # may create in their service
    assert not may_design(other_manager, procedure, organisation)
    assert not may_design(agent, procedure, organisation)
    assert not may_design(agent, None, organisation)
    assert not may_design(resident, None, organisation)
    assert not may_design(foreign_agent, procedure, organisation)
    assert not may_design(foreign_agent, procedure, other_organisation)  # wrong organisation


def test_the_list_shows_what_each_designer_may_design_in_bounded_queries(
        client, organisation, service, other_service, administrator, manager,
        django_assert_max_num_queries):
    for index in range(3):
        make_procedure(organisation, service, slug=f"accueil-{index}", title=f"Accueil {index}")
    make_procedure(organisation, other_service, slug="permis", title="Permis de test")
    ProcedureDefinition.objects.create(organisation=organisation, slug="jamais",
                                       title="Jamais publiée", service=service)
    client.force_login(manager)
    with django_assert_max_num_queries(12):
        response = client.get(url("builder-list"))
    assert response.status_code == 200
    titles = [p.title for p in response.context["procedures"]]
    assert titles == ["Accueil 0", "Accueil 1", "Accueil 2", "Jamais publiée"]
    content = response.content.decode()
    assert "Brouillon (jamais publiée)" in content and "Publiée (version 1)" in content
    client.force_login(administrator)
    response = client.get(url("builder-list"))
    assert "Permis de test" in response.content.decode()
    assert f'href="{url("builder-list")}" aria-current="page"' in response.content.decode()


def test_a_plain_agent_and_a_resident_are_refused(client, procedure, agent, resident):
    client.force_login(agent)
    assert client.get(url("builder-list")).status_code == 403
    assert client.get(url("builder-create")).status_code == 403
    for name in PAGES:
        assert client.get(url(name, procedure.pk)).status_code == 403
    home = client.get("/agent/").content.decode()
    assert url("builder-list") not in home  # no menu entry either
    client.force_login(resident)
    assert client.get(url("builder-list")).status_code == 403
    assert client.get(url("builder-form", procedure.pk)).status_code == 403


def test_anonymous_visitors_go_to_the_login_page(client, procedure):
    response = client.get(url("builder-form", procedure.pk))
    assert response.status_code == 302 and "login" in response["Location"]


def test_another_services_manager_gets_404_and_cannot_write(client, procedure, other_manager,
                                                            workflow, service):
    client.force_login(other_manager)
    for name in PAGES:
        assert client.get(url(name, procedure.pk)).status_code == 404
    response = client.post(url("builder-settings", procedure.pk),
                           settings_data(procedure, service=service, workflow=workflow,
                                         title="Détournée"))
    assert response.status_code == 404
    response = client.post(url("builder-form", procedure.pk), {"action": "start"})
    assert response.status_code == 404
    procedure.refresh_from_db()
    assert procedure.title == "Aide de test" and procedure.versions.count() == 1


def test_another_organisations_agent_finds_nothing(client, procedure, foreign_agent):
    client.force_login(foreign_agent)
    # On its own host, the foreign administrator designs its own procedures only.
    response = client.get(url("builder-list"), HTTP_HOST="autre.localhost")
    assert response.status_code == 200 and "Aide de test" not in response.content.decode()
    for name in PAGES:
        assert client.get(url(name, procedure.pk),
                          HTTP_HOST="autre.localhost").status_code == 404
    # On this organisation's host, their account does not exist: back to the login page.
    response = client.get(url("builder-form", procedure.pk))
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_manager_cannot_give_a_procedure_to_a_service_they_do_not_manage(
        client, manager, workflow, other_service):
    client.force_login(manager)
    response = client.post(url("builder-create"),
                           settings_data(service=other_service, workflow=workflow))
    assert response.status_code == 200
    assert response.context["form"].errors["service"]
    assert not ProcedureDefinition.objects.filter(title="Inscription à la cantine").exists()


def test_a_foreign_workflow_cannot_be_chosen(client, administrator, service, other_organisation):
    from .conftest import make_workflow

    foreign = make_workflow(other_organisation)
    client.force_login(administrator)
    response = client.post(url("builder-create"),
                           settings_data(service=service, workflow=foreign))
    assert response.status_code == 200 and response.context["form"].errors["workflow"]


@pytest.mark.parametrize("name", ["builder-settings", "builder-form", "builder-publish"])
def test_designers_of_the_owning_service_open_every_section(client, procedure, manager, name):
    client.force_login(manager)
    assert client.get(url(name, procedure.pk)).status_code == 200
