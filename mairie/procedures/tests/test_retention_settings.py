"""The retention settings page of a procedure (builder area): who may open and change it,
validation in French with nothing typed lost, concurrent changes refused, audit."""

import pytest
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.procedures import retention
from mairie.procedures.models_retention import RetentionPolicy

from .builder_helpers import manager_fixture, other_manager_fixture  # noqa: F401 (fixtures)
from .retention_helpers import make_retention_procedure


@pytest.fixture
def definition(organisation, service, administrator):
    return make_retention_procedure(organisation, service, actor=administrator)


def _url(definition):
    return reverse("procedures:retention-settings", args=[definition.slug])


def _post(client, definition, **values):
    data = {"months": "24", "mode": "anonymise", "identity_fields": ["piece_identite"],
            "version": ""}
    data.update(values)
    return client.post(_url(definition), data)


def test_a_designer_reads_the_explanations_and_the_file_fields(client, definition, manager):
    client.force_login(manager)
    response = client.get(_url(definition))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Conservation des dossiers" in content
    assert "Pièce d&#x27;identité (piece_identite)" in content
    assert "Justificatif de domicile (justificatif)" in content
    assert "Laissez vide pour conserver les dossiers sans limite" in content
    assert "Anonymiser" in content and "Supprimer" in content
    assert f'href="{_url(definition)}" aria-current="page"' in content


def test_the_builder_links_to_the_page(client, definition, administrator):
    client.force_login(administrator)
    response = client.get(reverse("procedures:builder-settings", args=[definition.pk]))
    assert f'href="{_url(definition)}"' in response.content.decode()


def test_saving_the_rules_is_audited(client, definition, manager):
    client.force_login(manager)
    response = _post(client, definition)
    assert response.status_code == 302 and response["Location"] == _url(definition)
    policy = RetentionPolicy.objects.get(definition=definition)
    assert (policy.months, policy.mode, policy.identity_fields) == (
        24, "anonymise", ["piece_identite"])
    assert policy.organisation == definition.organisation
    event = AuditEvent.objects.get(action="procedures.retention_changed")
    assert event.actor == manager and event.details["months"] == 24
    assert event.details["before"] is None
    # Shown again as saved, and changed again from there.
    response = client.get(_url(definition))
    form = response.context["form"]
    assert form.initial["months"] == 24 and form.initial["identity_fields"] == ["piece_identite"]
    response = _post(client, definition, months="", mode="delete", identity_fields=[],
                     version=form.initial["version"])
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.months, policy.mode, policy.identity_fields) == (None, "delete", [])


@pytest.mark.parametrize("values, field, message", [
    ({"months": "0"}, "months", "supérieure ou égale à 1"),
    ({"months": "deux ans"}, "months", "Indiquez un nombre entier de mois"),
    ({"months": "5000"}, "months", "inférieure ou égale à 1200"),
    ({"mode": ""}, "mode", "Choisissez ce qu&#x27;il advient des dossiers"),
    ({"identity_fields": ["nom"]}, "identity_fields", "n&#x27;est pas un champ fichier"),
])
def test_bad_input_is_explained_and_kept(client, definition, manager, values, field, message):
    client.force_login(manager)
    response = _post(client, definition, **values)
    assert response.status_code == 200
    content = response.content.decode()
    assert message in content and "Le formulaire contient des erreurs" in content
    assert field in response.context["form"].errors
    assert not RetentionPolicy.objects.exists()
    if field != "months":
        assert 'value="24"' in content  # what was typed is still there


def test_the_service_refuses_fields_that_are_not_files(definition, administrator):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        retention.save_policy(actor=administrator, definition=definition, months=12,
                              mode="delete", identity_fields=["nom"])
    assert "identity_fields" in refused.value.message_dict


def test_a_concurrent_change_is_refused_not_overwritten(client, definition, manager,
                                                        administrator):
    client.force_login(manager)
    _post(client, definition)
    version = client.get(_url(definition)).context["form"].initial["version"]
    client.force_login(administrator)
    assert _post(client, definition, months="36", version=version).status_code == 302
    client.force_login(manager)
    response = _post(client, definition, months="6", version=version)
    assert response.status_code == 409
    assert "modifiées par quelqu&#x27;un d&#x27;autre" in response.content.decode()
    assert RetentionPolicy.objects.get(definition=definition).months == 36
    assert 'value="6"' in response.content.decode()


def test_a_plain_agent_may_not(client, definition, agent):
    client.force_login(agent)
    assert client.get(_url(definition)).status_code == 403
    assert _post(client, definition).status_code == 403
    assert not RetentionPolicy.objects.exists()


def test_another_services_manager_finds_nothing(client, definition, other_manager):
    client.force_login(other_manager)
    assert client.get(_url(definition)).status_code == 404
    assert _post(client, definition).status_code == 404
    assert not RetentionPolicy.objects.exists()


def test_a_resident_may_not(client, definition, resident):
    client.force_login(resident)
    assert client.get(_url(definition)).status_code == 403


def test_another_organisation_finds_nothing(client, definition, foreign_agent):
    client.force_login(foreign_agent)
    # On its own host, the same slug is no procedure of theirs.
    response = client.get(_url(definition), HTTP_HOST="autre.localhost")
    assert response.status_code == 404
    response = client.post(_url(definition), {"months": "1", "mode": "delete"},
                           HTTP_HOST="autre.localhost")
    assert response.status_code == 404
    # On this organisation's host, their account does not exist here.
    assert client.get(_url(definition)).status_code in (302, 403)
    assert not RetentionPolicy.objects.exists()
    with pytest.raises(Exception):  # noqa: B017, PT011 — the service checks too
        retention.save_policy(actor=foreign_agent, definition=definition, months=1,
                              mode="delete", identity_fields=[])
