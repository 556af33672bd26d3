import pytest
from django.test import Client

from mairie.core.audit.models import AuditEvent

from .conftest import token_header

pytestmark = pytest.mark.django_db
URL = "/api/v1/me/"


def _patch(client, data, **extra):
    return client.patch(URL, data, content_type="application/json", **extra)


def test_a_write_token_changes_the_names_and_it_is_audited(client, resident, make_token):
    _, raw_key = make_token(resident, scopes=["write"])
    response = _patch(client, {"first_name": " Aïcha ", "last_name": "Dupont-Moreau"},
                      **token_header(raw_key))
    assert response.status_code == 200
    assert (response.json()["first_name"], response.json()["last_name"]) == (
        "Aïcha", "Dupont-Moreau")
    resident.refresh_from_db()
    assert (resident.first_name, resident.last_name) == ("Aïcha", "Dupont-Moreau")
    event = AuditEvent.objects.get(action="user.names_updated")
    assert event.actor == resident
    assert event.details["first_name"]["after"] == "Aïcha"


def test_an_absent_field_is_left_unchanged(client, resident, make_token):
    last_name = resident.last_name
    _, raw_key = make_token(resident, scopes=["write"])
    response = _patch(client, {"first_name": "Jeanne"}, **token_header(raw_key))
    assert response.status_code == 200
    resident.refresh_from_db()
    assert (resident.first_name, resident.last_name) == ("Jeanne", last_name)


def test_a_read_only_token_cannot_write(client, resident, make_token):
    first_name = resident.first_name
    _, raw_key = make_token(resident, scopes=["read"])
    response = _patch(client, {"first_name": "Pirate"}, **token_header(raw_key))
    assert response.status_code == 403
    assert response.json() == {"status": 403, "code": "scope_missing",
                               "detail": "Ce jeton n'a pas la portée « write » nécessaire."}
    resident.refresh_from_db()
    assert resident.first_name == first_name
    assert not AuditEvent.objects.filter(action="user.names_updated").exists()


def test_invalid_data_gets_400_with_field_errors(client, resident, make_token):
    _, raw_key = make_token(resident, scopes=["write"])
    response = _patch(client, {"first_name": "x" * 151}, **token_header(raw_key))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["detail"] == "Les données envoyées ne sont pas valides."
    assert list(body["errors"]) == ["first_name"]


def test_a_browser_session_needs_the_csrf_token(resident):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(resident)
    response = _patch(browser, {"first_name": "Forgée"})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "CSRF" in response.json()["detail"]
    browser.get("/mon-compte/jetons/")  # any page sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    response = _patch(browser, {"first_name": "Légitime"}, HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200
    resident.refresh_from_db()
    assert resident.first_name == "Légitime"


def test_anonymous_requests_cannot_write(client, organisation):
    assert _patch(client, {"first_name": "x"}).status_code == 401


def test_a_token_of_another_organisation_cannot_write_here(client, organisation, foreign_agent,
                                                         make_token):
    _, raw_key = make_token(foreign_agent, scopes=["write"])
    response = _patch(client, {"first_name": "x"}, **token_header(raw_key))
    assert response.status_code == 401
    foreign_agent.refresh_from_db()
    assert foreign_agent.first_name != "x"
