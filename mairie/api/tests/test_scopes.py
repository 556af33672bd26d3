import pytest

from mairie.api.scopes import all_scopes, grants, is_known, register_scope


@pytest.mark.parametrize(
    ("granted", "required", "allowed"),
    [
        (["read"], "read", True),
        (["read"], "write", False),
        (["write"], "read", True),  # a client that may change something may read it back
        (["write"], "write", True),
        (["read"], "dossiers:read", True),  # generic scopes cover every module
        (["read"], "dossiers:write", False),
        (["write"], "dossiers:write", True),
        (["dossiers:read"], "dossiers:read", True),
        (["dossiers:read"], "read", False),  # a module scope does not open the rest
        (["dossiers:read"], "agendas:read", False),
        (["dossiers:read"], "dossiers:write", False),
        (["dossiers:write"], "dossiers:read", True),
        (["webhooks:manage"], "webhooks:manage", True),
        (["write"], "webhooks:manage", False),  # special scopes are never implied
        ([], "read", False),
    ],
)
def test_grants_follows_the_documented_implications(granted, required, allowed):
    assert grants(granted, required) is allowed


def test_modules_register_their_scopes_with_a_french_label():
    register_scope("essai:read", "Lire les essais")
    try:
        assert is_known("essai:read")
        codes = [scope.code for scope in all_scopes()]
        assert codes[:2] == ["read", "write"]  # generic scopes come first
        assert "essai:read" in codes
    finally:
        from mairie.api import scopes

        scopes._registry.pop("essai:read")


@pytest.mark.parametrize("code", ["Read", "dossiers:", "a:b:c", "", "lire dossiers"])
def test_malformed_scope_codes_are_refused(code):
    with pytest.raises(ValueError):
        register_scope(code, "x")
