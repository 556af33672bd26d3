"""The agents' inbox: the submitted dossiers of their services (all of them for directors and
administrators), filtered and paginated server-side, in a fixed number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mairie.core.factories import UserFactory, agent_factory
from mairie.core.organisation.models import Role
from mairie.procedures.models import WorkflowRoleMapping
from mairie.procedures.services import start_dossier

from .agent_helpers import file_dossier
from .conftest import make_procedure

INBOX = reverse("procedures:agent-inbox")


@pytest.fixture
def other_procedure(organisation, other_service):
    return make_procedure(organisation, other_service, slug="permis-test", title="Permis de test")


@pytest.fixture
def other_agent(other_service):
    return agent_factory(service=other_service, email="urbanisme@valmont.example")


def numbers(response):
    return [d.number for d in response.context["page_obj"].object_list]


def test_an_agent_sees_the_submitted_dossiers_of_their_service_newest_first(
        client, agent, resident, procedure, other_procedure):
    file_dossier(procedure, resident, number="2026-000001", minutes_ago=10)
    file_dossier(procedure, resident, number="2026-000002", minutes_ago=5)
    file_dossier(other_procedure, resident, number="2026-000003")
    start_dossier(actor_or_none=resident, definition=procedure, request=None)  # a draft
    client.force_login(agent)
    response = client.get(INBOX)
    assert response.status_code == 200
    assert numbers(response) == ["2026-000002", "2026-000001"]
    content = response.content.decode()
    assert "Aide de test" in content and str(resident) in content
    assert "Déposé" in content
    assert f'href="{INBOX}" aria-current="page"' in content  # the "Dossiers" menu entry


def test_filters_by_procedure_state_and_text_without_javascript(
        client, administrator, organisation, procedure, other_procedure):
    marie = UserFactory(organisation=organisation, email="marie@example.org",
                        first_name="Marie", last_name="Curie")
    paul = UserFactory(organisation=organisation, email="paul@example.org",
                       first_name="Paul", last_name="Langevin")
    file_dossier(procedure, marie, number="2026-000011")
    file_dossier(procedure, paul, number="2026-000012", state="accepte")
    file_dossier(other_procedure, paul, number="2026-000013")
    file_dossier(procedure, None, number="2026-000014", email="anonyme@example.net")
    client.force_login(administrator)

    def listed(**params):
        return sorted(numbers(client.get(INBOX, {"box": "all", **params})))

    assert listed() == ["2026-000011", "2026-000012", "2026-000013", "2026-000014"]
    assert listed(procedure=other_procedure.pk) == ["2026-000013"]
    assert listed(state="accepte") == ["2026-000012"]
    assert listed(q="curie") == ["2026-000011"]
    assert listed(q="paul@example") == ["2026-000012", "2026-000013"]
    assert listed(q="000014") == ["2026-000014"]
    assert listed(q="anonyme@") == ["2026-000014"]
    assert listed(q="Paul", procedure=procedure.pk) == ["2026-000012"]
    response = client.get(INBOX, {"box": "all", "q": "personne"})
    assert "Aucun dossier ne correspond à ces filtres." in response.content.decode()
    # An unknown procedure or state is a form error, not a crash nor a silent widening.
    response = client.get(INBOX, {"state": "inexistant"})
    assert response.status_code == 200
    assert response.context["form"].errors


def test_pages_of_25_keep_the_filters(client, agent, resident, procedure):
    for n in range(30):
        file_dossier(procedure, resident, number=f"2026-{n:06d}", minutes_ago=n)
    client.force_login(agent)
    first = client.get(INBOX, {"q": "2026"})
    assert len(numbers(first)) == 25
    content = first.content.decode()
    assert "Page 1 sur 2" in content
    assert "?box=services&amp;q=2026&amp;page=2" in content
    second = client.get(INBOX, {"q": "2026", "page": 2})
    assert numbers(second) == [f"2026-{n:06d}" for n in range(25, 30)]


def test_the_inbox_costs_the_same_number_of_queries_for_3_or_30_dossiers(
        client, agent, resident, procedure, django_assert_max_num_queries):
    for n in range(3):
        file_dossier(procedure, resident, number=f"2026-{n:06d}")
    client.force_login(agent)
    client.get(INBOX)  # warm the session and caches
    with CaptureQueriesContext(connection) as small:
        assert len(numbers(client.get(INBOX))) == 3
    for n in range(3, 30):
        file_dossier(procedure, UserFactory(organisation=procedure.organisation),
                     number=f"2026-{n:06d}")
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(numbers(client.get(INBOX))) == 25


def test_a_mapped_workflow_role_brings_the_procedure_into_the_service_inbox(
        client, other_agent, other_service, resident, procedure):
    file_dossier(procedure, resident, number="2026-000021")
    client.force_login(other_agent)
    assert numbers(client.get(INBOX)) == []
    mapping = WorkflowRoleMapping.objects.create(
        organisation=procedure.organisation, definition=procedure, role="instructor",
        service=other_service, membership_role=Role.MANAGER)
    assert numbers(client.get(INBOX)) == []  # the mapping asks for a manager
    mapping.membership_role = ""
    mapping.save()
    assert numbers(client.get(INBOX)) == ["2026-000021"]


def test_only_directors_and_administrators_have_the_all_box(
        client, agent, administrator, other_agent, resident, procedure, other_procedure):
    file_dossier(procedure, resident, number="2026-000031")
    file_dossier(other_procedure, resident, number="2026-000032")
    client.force_login(other_agent)
    response = client.get(INBOX, {"box": "all"})
    assert numbers(response) == ["2026-000032"]  # back to their services
    assert "Tous les dossiers" not in response.content.decode()
    client.force_login(administrator)
    assert numbers(client.get(INBOX)) == ["2026-000031"]
    assert sorted(numbers(client.get(INBOX, {"box": "all"}))) == ["2026-000031", "2026-000032"]


def test_anonymous_visitors_are_sent_to_the_login_page(client, organisation):
    response = client.get(INBOX)
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_residents_are_refused(client, resident):
    client.force_login(resident)
    assert client.get(INBOX).status_code == 403


def test_another_organisations_agent_sees_none_of_our_dossiers(
        client, foreign_agent, resident, procedure):
    file_dossier(procedure, resident, number="2026-000041")
    client.force_login(foreign_agent)
    for box in ("services", "all"):
        response = client.get(INBOX, {"box": box}, HTTP_HOST="autre.localhost")
        assert response.status_code == 200
        assert numbers(response) == []
        assert "2026-000041" not in response.content.decode()
    # …and on our host they are nobody: sent back to the login page.
    response = client.get(INBOX)
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]
