import pytest

from mairie.core.factories import ServiceFactory
from mairie.core.organisation.models import Role

from .conftest import token_header

pytestmark = pytest.mark.django_db
URL = "/api/v1/services/"


def test_an_agent_lists_the_services_of_their_organisation(client, agent, service,
                                                            other_service, foreign_agent):
    client.force_login(agent)
    response = client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [s["name"] for s in body["results"]] == ["Accueil et état civil", "Urbanisme"]
    first = body["results"][0]
    assert first == {"id": str(service.pk), "name": service.name, "slug": "accueil",
                     "parent": None, "description": "", "email": "",
                     "abilities": {"update": False}}


def test_an_administrator_is_told_they_may_update_services(client, administrator, service,
                                                           make_token):
    client.force_login(administrator)
    assert client.get(URL).json()["results"][0]["abilities"] == {"update": True}
    # …but not through a read-only token, which could not do it.
    _, raw_key = make_token(administrator, scopes=["read"])
    client.logout()
    response = client.get(URL, **token_header(raw_key))
    assert response.json()["results"][0]["abilities"] == {"update": False}


def test_an_agent_token_with_read_scope_lists_services(client, agent, service, make_token):
    _, raw_key = make_token(agent, scopes=["read"])
    response = client.get(URL, **token_header(raw_key))
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_a_resident_is_refused(client, resident, service, make_token):
    client.force_login(resident)
    response = client.get(URL)
    assert response.status_code == 403
    assert response.json() == {"status": 403, "code": "permission_denied",
                               "detail": "Réservé aux agents de la collectivité."}
    _, raw_key = make_token(resident)
    client.logout()
    assert client.get(URL, **token_header(raw_key)).status_code == 403


def test_anonymous_requests_get_401(client, service):
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_an_agent_of_another_organisation_sees_only_their_own(client, service, other_service,
                                                              foreign_agent, make_token):
    client.force_login(foreign_agent)
    response = client.get(URL, HTTP_HOST="autre.localhost")
    assert response.status_code == 200
    names = [s["name"] for s in response.json()["results"]]
    assert names == ["Accueil"]  # theirs, not Valmont's
    # Their token on Valmont's host is refused outright.
    _, raw_key = make_token(foreign_agent)
    client.logout()
    response = client.get(URL, **token_header(raw_key))
    assert response.status_code == 401


def test_the_list_is_paginated(client, agent, service):
    for i in range(5):
        ServiceFactory(organisation=service.organisation, name=f"Service {i:02d}")
    client.force_login(agent)
    body = client.get(URL + "?page_size=2&page=2").json()
    assert body["count"] == 6
    assert [s["name"] for s in body["results"]] == ["Service 01", "Service 02"]
    assert body["next"].endswith("page=3&page_size=2")
    assert client.get(URL + "?page=99").json()["code"] == "not_found"


def test_the_query_count_does_not_grow_with_the_list(client, agent, service,
                                                     django_assert_max_num_queries):
    directions = [ServiceFactory(organisation=service.organisation, name=f"Direction {i}")
                  for i in range(3)]
    client.force_login(agent)
    client.get(URL)  # warm the session and host caches
    with django_assert_max_num_queries(8) as few:
        client.get(URL)
    for i in range(30):
        ServiceFactory(organisation=service.organisation, name=f"Service {i}",
                       parent=directions[i % 3])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL)
    assert response.json()["count"] == 34


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ELECTED, Role.MEDIATOR])
def test_every_role_of_the_organisation_may_list(client, service, role):
    from mairie.core.factories import agent_factory

    user = agent_factory(service=service, role=role)
    client.force_login(user)
    assert client.get(URL).status_code == 200


def test_an_agent_without_a_second_factor_is_refused_in_a_session(client, service):
    from mairie.core.factories import agent_factory

    client.force_login(agent_factory(service=service, totp=False))
    response = client.get(URL)
    assert response.status_code == 403
    assert response.json()["code"] == "second_factor_required"
