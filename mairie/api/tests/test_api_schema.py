import io

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_schema_generates_without_errors_or_warnings(tmp_path):
    # --fail-on-warn turns any generator warning (an unknown type, a view it cannot read)
    # into a failure; --validate checks the result against the OpenAPI 3 JSON schema.
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target),
                 stdout=io.StringIO(), stderr=io.StringIO())
    schema = yaml.safe_load(target.read_text())
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/me/", "/api/v1/services/", "/api/v1/services/{id}/"} <= set(schema["paths"])
    assert "/api/v1/me" not in schema["paths"]  # the slashless alias is not documented twice


def test_the_schema_documents_token_authentication_and_scopes(client, organisation):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200  # public: the API's shape is not a secret
    schema = response.json()
    scheme = schema["components"]["securitySchemes"]["jetonPersonnel"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header",
                                                              "Authorization")
    assert "Token <jeton>" in scheme["description"]
    me = schema["paths"]["/api/v1/me/"]
    assert me["get"]["x-required-scope"] == "read"
    assert me["patch"]["x-required-scope"] == "write"
    assert {"jetonPersonnel": []} in me["get"]["security"]
    assert "Error" in schema["components"]["schemas"]
    assert "401" in me["get"]["responses"]
