import pytest

from mairie.api.models import PersonalToken
from mairie.api.services import revoke_token

from .conftest import in_days, token_header

pytestmark = pytest.mark.django_db
URL = "/api/v1/me/"


def test_an_agent_reads_their_profile_with_a_session(client, agent, service):
    client.force_login(agent)
    response = client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(agent.pk)
    assert body["email"] == agent.email
    assert (body["first_name"], body["last_name"]) == (agent.first_name, agent.last_name)
    assert body["organisation"] == {"id": str(agent.organisation_id),
                                    "name": "Commune de Valmont-Test", "slug": "valmont-test"}
    assert body["memberships"] == [{
        "service": {"id": str(service.pk), "name": service.name, "slug": service.slug},
        "role": "agent", "role_label": "Agent"}]
    assert body["abilities"]["agent"] is True
    assert body["abilities"]["view_chart"] is True
    assert body["abilities"]["manage_services"] is False
    assert body["abilities"]["update_profile"] is True
    assert body["authentication"]["method"] == "session"


def test_a_resident_reads_their_profile_with_a_token(client, resident, make_token):
    token, raw_key = make_token(resident, scopes=["read"], name="Tableur")
    response = client.get(URL, **token_header(raw_key))
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == resident.email
    assert body["memberships"] == []
    assert body["abilities"]["agent"] is False
    # A read-only token cannot change the profile, and the answer says so.
    assert body["abilities"]["update_profile"] is False
    assert body["authentication"]["method"] == "token"
    assert body["authentication"]["scopes"] == ["read"]
    assert body["authentication"]["token_name"] == "Tableur"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_the_address_without_final_slash_works_too(client, resident, make_token):
    _, raw_key = make_token(resident)
    response = client.get("/api/v1/me", **token_header(raw_key))
    assert response.status_code == 200
    assert response.json()["email"] == resident.email


def test_anonymous_requests_get_401_in_french(client, organisation):
    response = client.get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"status": 401, "code": "not_authenticated",
                               "detail": "Informations d'authentification non fournies."}


@pytest.mark.parametrize(
    ("state", "code", "message"),
    [
        ("expired", "token_expired", "Ce jeton a expiré le"),
        ("revoked", "token_revoked", "Ce jeton a été révoqué."),
        ("unknown", "token_invalid", "Jeton invalide."),
        ("inactive", "user_inactive", "Le compte de ce jeton est désactivé."),
    ],
)
def test_unusable_tokens_get_401_with_a_french_reason(client, resident, make_token, state, code,
                                                      message):
    token, raw_key = make_token(resident)
    if state == "expired":
        PersonalToken.objects.filter(pk=token.pk).update(expires_at=in_days(-1))
    elif state == "revoked":
        revoke_token(actor=resident, token=token)
    elif state == "unknown":
        raw_key = "mtk_" + "x" * 43
    elif state == "inactive":
        resident.is_active = False
        resident.save()
    response = client.get(URL, **token_header(raw_key))
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == code
    assert body["detail"].startswith(message)


def test_a_token_only_works_on_its_own_organisations_host(client, resident, make_token,
                                                          other_organisation):
    token, raw_key = make_token(resident)
    response = client.get(URL, HTTP_HOST="autre.localhost", **token_header(raw_key))
    assert response.status_code == 401
    assert response.json()["code"] == "token_wrong_organisation"
    assert response.json()["detail"] == "Ce jeton n'est pas valable pour cette collectivité."
    token.refresh_from_db()
    assert token.last_used_at is None


def test_a_malformed_authorization_header_is_refused(client, resident):
    response = client.get(URL, HTTP_AUTHORIZATION="Token")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_a_module_scoped_token_cannot_read_the_generic_profile(client, resident, make_token):
    from mairie.api.scopes import _registry, register_scope

    register_scope("essai:read", "Lire les essais")
    try:
        _, raw_key = make_token(resident, scopes=["essai:read"])
        response = client.get(URL, **token_header(raw_key))
    finally:
        _registry.pop("essai:read")
    assert response.status_code == 403
    assert response.json()["code"] == "scope_missing"


def test_a_profile_read_costs_a_few_queries(client, agent, make_token,
                                            django_assert_max_num_queries):
    _, raw_key = make_token(agent)
    client.get(URL, **token_header(raw_key))  # first use writes last_used_at
    with django_assert_max_num_queries(6):
        assert client.get(URL, **token_header(raw_key)).status_code == 200
