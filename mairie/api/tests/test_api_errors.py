import pytest

pytestmark = pytest.mark.django_db


def test_an_unknown_api_address_answers_json(client, organisation):
    response = client.get("/api/v1/nimporte-quoi/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": 404, "code": "not_found",
                               "detail": "Adresse inconnue dans l'API."}


def test_a_missing_final_slash_is_explained(client, organisation):
    response = client.get("/api/v1/services")
    assert response.status_code == 404
    assert "/api/v1/services/" in response.json()["detail"]


def test_a_body_that_is_not_json_is_refused_in_french(client, resident, make_token):
    from .conftest import token_header

    _, raw_key = make_token(resident, scopes=["write"])
    response = client.patch("/api/v1/me/", "first_name=x",
                            content_type="application/x-www-form-urlencoded",
                            **token_header(raw_key))
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert response.json()["detail"].startswith("Type de média")


def test_malformed_json_is_refused_in_french(client, resident, make_token):
    from .conftest import token_header

    _, raw_key = make_token(resident, scopes=["write"])
    response = client.patch("/api/v1/me/", "{pas du json", content_type="application/json",
                            **token_header(raw_key))
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
