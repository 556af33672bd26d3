"""The builder's "Automatisation" page: designers configure deadlines, silence vaut accord,
routing and automatic transitions; bad expressions and keys are refused in French with what
was typed kept; two designers never overwrite each other; others get 403 / 404."""

import pytest
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Role
from mairie.procedures.models import AutomationSettings

from .automation_helpers import (
    automate,
    make_civil_procedure,
    submit,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def civil(organisation, service, administrator):
    return make_civil_procedure(organisation, service, actor=administrator)


@pytest.fixture
def manager(service):
    return agent_factory(service=service, role=Role.MANAGER, email="chef@valmont.example")


def page(definition):
    return reverse("procedures:builder-automation", args=[definition.slug])


def management(prefix, total):
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}


def rows(prefix, items):
    data = management(prefix, len(items))
    for index, item in enumerate(items):
        for key, value in item.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


def post_data(*, revision=0, reminders="3, 0", escalate=True, silence=(), routing=(),
              rules=()):
    data = {"revision": str(revision), "reminder_days": reminders}
    if escalate:
        data["escalate"] = "on"
    data.update(rows("silence", list(silence)))
    data.update(rows("routing", list(routing)))
    data.update(rows("rules", list(rules)))
    return data


def text(response):
    return response.content.decode()


def test_a_designer_saves_every_kind_of_rule_and_sees_them_again(
        client, civil, manager, agent, other_service):
    client.force_login(manager)
    settings_page = text(client.get(reverse("procedures:builder-settings", args=[civil.pk])))
    assert page(civil) in settings_page  # the builder links to the page
    response = client.get(page(civil))
    assert response.status_code == 200
    assert "Silence vaut accord ou refus" in text(response)
    assert "<code>categorie</code>" in text(response)

    response = client.post(page(civil), post_data(
        reminders="5; 1, 0", escalate=False,
        silence=[{"state": "instruction", "kind": "accord", "decision": "accepte"}],
        routing=[{"label": "Mariages", "condition": 'categorie == "mariage"',
                  "service": str(other_service.pk), "ORDER": "2"},
                 {"label": "Naissances", "condition": 'categorie == "naissance"',
                  "agent": str(agent.pk), "ORDER": "1"}],
        rules=[{"label": "Naissance automatique", "event": "submitted",
                "condition": 'categorie == "naissance"', "transition": "accepter"}]))
    assert response.status_code == 302
    saved = AutomationSettings.objects.get(definition=civil)
    assert saved.reminder_days == [5, 1, 0] and saved.escalate is False
    assert saved.silence_rules == [{"state": "instruction", "kind": "accord",
                                    "decision": "accepte"}]
    assert [r["label"] for r in saved.routing_rules] == ["Naissances", "Mariages"]
    assert saved.routing_rules[0]["agent"] == str(agent.pk)
    assert saved.transition_rules[0]["transition"] == "accepter"
    assert saved.revision == 1
    audit = AuditEvent.objects.get(action="procedures.automation_saved")
    assert audit.actor_id == manager.pk and audit.details["routing_rules"] == 2

    again = text(client.get(page(civil)))
    assert "L&#x27;automatisation de la démarche est enregistrée." in again
    assert 'value="Naissance automatique"' in again and 'value="5, 1, 0"' in again

    # The rules work: a birth certificate filed now is accepted and assigned.
    from mairie.core.factories import UserFactory

    dossier = submit(civil, UserFactory(organisation=civil.organisation))
    assert dossier.state == "accepte" and dossier.assigned_to == agent


def test_bad_expressions_and_keys_are_refused_in_french_and_what_was_typed_is_kept(
        client, civil, administrator):
    client.force_login(administrator)
    response = client.post(page(civil), post_data(
        reminders="3, demain",
        routing=[{"label": "Cassée", "condition": 'categorie == "naissance'}],
        rules=[{"label": "Sans saisie", "event": "submitted", "condition": "montant > 10",
                "transition": "refuser"},
               {"label": "Inconnue", "event": "", "condition": "", "transition": "envoler"}]))
    assert response.status_code == 200
    content = text(response)
    assert 'id="error-summary"' in content
    assert "« demain » n&#x27;est pas un nombre de jours" in content
    assert "Syntaxe incorrecte" in content
    assert "montant" in content  # the unknown name is named
    assert "Le système ne peut pas franchir cette transition" in content
    assert "Sélectionnez un choix valide" in content  # unknown transition key
    assert 'value="categorie == &quot;naissance"' in content  # kept as typed
    assert not AutomationSettings.objects.filter(definition=civil).exists()


def test_a_rule_without_service_nor_agent_is_refused(client, civil, administrator):
    client.force_login(administrator)
    response = client.post(page(civil), post_data(
        routing=[{"label": "Personne", "condition": ""}]))
    assert response.status_code == 200
    assert "Choisissez un service, un agent ou les deux." in text(response)


def test_two_designers_never_overwrite_each_other(client, civil, administrator, manager):
    automate(civil, reminder_days=[7], revision=3)
    client.force_login(manager)
    response = client.post(page(civil), post_data(revision=2, reminders="1"))
    assert response.status_code == 409
    content = text(response)
    assert "Quelqu&#x27;un a enregistré l&#x27;automatisation" in content
    assert 'value="1"' in content  # what they typed is still there
    assert AutomationSettings.objects.get(definition=civil).reminder_days == [7]
    # Saving again goes over the revision now shown.
    assert client.post(page(civil), post_data(revision=3, reminders="1")).status_code == 302
    assert AutomationSettings.objects.get(definition=civil).reminder_days == [1]


def test_a_plain_agent_another_service_and_another_organisation_cannot(
        client, civil, agent, other_service, foreign_agent, resident):
    client.force_login(agent)
    assert client.get(page(civil)).status_code == 403
    assert client.post(page(civil), post_data(reminders="1")).status_code == 403
    client.force_login(resident)
    assert client.get(page(civil)).status_code in (302, 403)
    other_manager = agent_factory(service=other_service, role=Role.MANAGER,
                                  email="chef-urba@valmont.example")
    client.force_login(other_manager)
    assert client.get(page(civil)).status_code == 404
    assert client.post(page(civil), post_data(reminders="1")).status_code == 404
    client.force_login(foreign_agent)
    assert client.get(page(civil), HTTP_HOST="autre.localhost").status_code == 404
    assert client.post(page(civil), post_data(reminders="1"),
                       HTTP_HOST="autre.localhost").status_code == 404
    assert not AutomationSettings.objects.filter(definition=civil).exists()
