import pytest
from django.urls import reverse

from mairie.api.models import PersonalToken
from mairie.api.services import revoke_token
from mairie.core.factories import UserFactory, agent_factory

from .conftest import in_days

pytestmark = pytest.mark.django_db
URL = "/mon-compte/jetons/"


def test_the_page_is_under_my_account():
    assert reverse("api:tokens") == URL


def test_anonymous_visitors_are_sent_to_the_login_page(client, organisation):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_resident_sees_their_own_tokens_with_their_state(client, resident, make_token):
    active, _ = make_token(resident, name="Tableur du budget")
    revoked, _ = make_token(resident, name="Ancien script")
    revoke_token(actor=resident, token=revoked)
    expired, _ = make_token(resident, name="Essai terminé")
    PersonalToken.objects.filter(pk=expired.pk).update(expires_at=in_days(-1))
    neighbour = UserFactory(organisation=resident.organisation)
    make_token(neighbour, name="Jeton du voisin")
    client.force_login(resident)

    response = client.get(URL)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    for token in (active, revoked, expired):
        assert token.name in html and token.prefix in html
    assert "Jeton du voisin" not in html
    assert "Actif" in html and "Révoqué" in html and "Expiré" in html  # words, not colours
    assert "jamais" in html  # never used
    # Only the active token can still be revoked.
    assert html.count(">Révoquer<") == 1
    assert reverse("api:token-revoke", args=[active.pk]) in html


def test_an_agent_of_another_organisation_sees_only_their_own(client, resident, foreign_agent,
                                                                make_token):
    make_token(resident, name="Jeton de Valmont")
    make_token(foreign_agent, name="Jeton d'Ailleurs")
    client.force_login(foreign_agent)
    response = client.get(URL, HTTP_HOST="autre.localhost")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Jeton d&#x27;Ailleurs" in html
    assert "Jeton de Valmont" not in html


def test_a_session_does_not_carry_over_to_another_organisations_host(client, resident,
                                                                      other_organisation):
    client.force_login(resident)
    response = client.get(URL, HTTP_HOST="autre.localhost")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_an_agent_without_a_second_factor_must_enrol_first(client, service):
    agent = agent_factory(service=service, totp=False)
    client.force_login(agent)
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))


def test_an_agent_with_a_second_factor_reaches_the_page(client, agent):
    client.force_login(agent)
    assert client.get(URL).status_code == 200


def test_the_list_is_paginated_and_its_query_count_does_not_grow(
        client, resident, make_token, django_assert_max_num_queries):
    client.force_login(resident)
    make_token(resident, name="premier")
    client.get(URL)  # warm the session and host caches
    with django_assert_max_num_queries(12) as few:
        client.get(URL)
    for i in range(24):
        make_token(resident, name=f"jeton {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL)
    html = response.content.decode()
    assert "Page 1 sur 2" in html
    assert "25 jetons" in html
    second = client.get(URL + "?page=2").content.decode()
    assert "premier" in second  # oldest last
