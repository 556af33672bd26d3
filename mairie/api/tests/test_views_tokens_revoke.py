import pytest
from django.urls import reverse

from mairie.api.models import PersonalToken
from mairie.core.factories import UserFactory

from .conftest import token_header

pytestmark = pytest.mark.django_db


def _url(token):
    return reverse("api:token-revoke", args=[token.pk])


def test_the_owner_revokes_a_token_without_javascript(client, resident, make_token):
    token, raw_key = make_token(resident, name="Vieux script")
    client.force_login(resident)

    response = client.post(_url(token), follow=True)

    assert response.redirect_chain == [(reverse("api:tokens"), 302)]
    assert "Le jeton « Vieux script » est révoqué" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    api = client.get("/api/v1/me/", **token_header(raw_key))
    assert api.status_code == 401


def test_revoking_needs_a_post(client, resident, make_token):
    token, _ = make_token(resident)
    client.force_login(resident)
    assert client.get(_url(token)).status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None


def test_anonymous_visitors_cannot_revoke(client, resident, make_token):
    token, _ = make_token(resident)
    response = client.post(_url(token))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize("who", ["neighbour", "agent", "foreign_agent"])
def test_nobody_else_can_revoke_through_the_page(client, request, resident, make_token, who):
    token, _ = make_token(resident)
    host = "testserver"
    if who == "neighbour":
        actor = UserFactory(organisation=resident.organisation)
    else:
        actor = request.getfixturevalue(who)
        host = "autre.localhost" if who == "foreign_agent" else host
    client.force_login(actor)
    response = client.post(_url(token), HTTP_HOST=host)
    assert response.status_code == 404
    assert PersonalToken.objects.get(pk=token.pk).revoked_at is None
