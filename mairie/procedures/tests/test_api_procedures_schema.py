"""The procedures endpoints are documented in the OpenAPI schema, without generator warnings,
with the scope each operation needs."""

import io

import pytest
import yaml
from django.core.management import call_command

from mairie.api.scopes import is_known

pytestmark = pytest.mark.django_db


def test_the_schema_documents_the_procedures_endpoints_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target),
                 stdout=io.StringIO(), stderr=io.StringIO())
    paths = yaml.safe_load(target.read_text())["paths"]
    scopes = {
        ("/api/v1/procedures/", "get"): "procedures:read",
        ("/api/v1/procedures/{id}/", "get"): "procedures:read",
        ("/api/v1/dossiers/", "get"): "dossiers:read",
        ("/api/v1/dossiers/", "post"): "dossiers:write",
        ("/api/v1/dossiers/{id}/", "get"): "dossiers:read",
        ("/api/v1/dossiers/{id}/transitions/", "post"): "dossiers:write",
        ("/api/v1/dossiers/{id}/messages/", "post"): "dossiers:write",
        ("/api/v1/dossiers/{id}/annotations/", "post"): "dossiers:write",
    }
    for (path, method), scope in scopes.items():
        operation = paths[path][method]
        assert operation["x-required-scope"] == scope, path
        assert operation["summary"] and "401" in operation["responses"]
    assert "409" in paths["/api/v1/dossiers/{id}/transitions/"]["post"]["responses"]
    filters = {p["name"] for p in paths["/api/v1/dossiers/"]["get"]["parameters"]}
    assert {"box", "procedure", "state", "label", "assigned", "submitted_from",
            "submitted_to", "q", "sort", "page"} <= filters


def test_the_scopes_are_offered_to_tokens():
    assert all(is_known(code) for code in ("procedures:read", "dossiers:read",
                                           "dossiers:write"))
