import pytest

from mairie.core.factories import ServiceFactory

from .conftest import token_header

pytestmark = pytest.mark.django_db


def _url(service):
    return f"/api/v1/services/{service.pk}/"


def test_an_agent_reads_a_service(client, agent, service):
    child = ServiceFactory(organisation=service.organisation, name="État civil",
                           parent=service, email="etat-civil@valmont.example")
    client.force_login(agent)
    response = client.get(_url(child))
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["parent"], body["email"]) == (
        "État civil", str(service.pk), "etat-civil@valmont.example")


def test_a_service_of_another_organisation_is_not_found(client, agent, foreign_agent,
                                                        make_token):
    foreign_service = foreign_agent.memberships.get().service
    client.force_login(agent)
    response = client.get(_url(foreign_service))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    # Nor through the other host with a token of the first organisation.
    _, raw_key = make_token(agent)
    client.logout()
    response = client.get(_url(foreign_service), HTTP_HOST="autre.localhost",
                          **token_header(raw_key))
    assert response.status_code == 401


def test_a_resident_and_an_anonymous_visitor_are_refused(client, resident, service):
    assert client.get(_url(service)).status_code == 401
    client.force_login(resident)
    assert client.get(_url(service)).status_code == 403


def test_an_address_that_is_not_a_uuid_is_not_found_as_json(client, agent, service):
    client.force_login(agent)
    response = client.get("/api/v1/services/42/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_services_are_read_only(client, administrator, service, make_token):
    _, raw_key = make_token(administrator, scopes=["write"])
    response = client.delete(_url(service), **token_header(raw_key))
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "DELETE" in response.json()["detail"] and "non autorisée" in response.json()["detail"]
