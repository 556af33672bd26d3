"""The preferences page: one choice per kind the user may receive, saved and audited."""

import pytest
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.notifications.models import NotificationPreference

pytestmark = pytest.mark.django_db

URL = reverse("notifications:preferences")


def _post_data(choices: dict[str, str]) -> dict[str, str]:
    data = {"kinds-TOTAL_FORMS": str(len(choices)), "kinds-INITIAL_FORMS": str(len(choices)),
            "kinds-MIN_NUM_FORMS": "0", "kinds-MAX_NUM_FORMS": "1000"}
    for i, (kind, frequency) in enumerate(choices.items()):
        data[f"kinds-{i}-kind"] = kind
        data[f"kinds-{i}-frequency"] = frequency
    return data


def test_agent_sees_every_kind_for_agents_with_current_choice(client, agent):
    NotificationPreference.objects.create(user=agent, kind="system.announcement",
                                          frequency="daily")
    client.force_login(agent)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Espace agent" in html
    assert "Changement de vos rôles dans les services" in html
    assert "Annonces de la collectivité" in html
    assert "<legend>" in html and "Résumé quotidien" in html
    announcement = html.split("Annonces de la collectivité")[1].split("</fieldset>")[0]
    checked = [line for line in announcement.splitlines() if "checked" in line]
    assert len(checked) == 1 and 'value="daily"' in checked[0]


def test_resident_sees_only_kinds_meant_for_residents(client, resident):
    client.force_login(resident)
    html = client.get(URL).content.decode()
    assert "Annonces de la collectivité" in html
    assert "Changement de vos rôles" not in html
    assert "Espace agent" not in html


def test_saving_stores_the_choice_and_audits_the_change(client, organisation, agent):
    client.force_login(agent)
    response = client.post(URL, _post_data({"organisation.role_changed": "never",
                                            "system.announcement": "immediately"}))
    assert response.status_code == 302
    assert dict(NotificationPreference.objects.filter(user=agent)
                .values_list("kind", "frequency")) == {"organisation.role_changed": "never"}
    event = AuditEvent.objects.get(action="notifications.preferences_changed")
    assert event.organisation == organisation and event.actor == agent
    assert event.details == {"changes": {"organisation.role_changed":
                                         {"from": "immediately", "to": "never"}}}
    assert "Vos préférences ont été enregistrées." in client.get(URL).content.decode()
    # saving the same choices again changes nothing and writes no new event
    client.post(URL, _post_data({"organisation.role_changed": "never",
                                 "system.announcement": "immediately"}))
    assert AuditEvent.objects.filter(action="notifications.preferences_changed").count() == 1


def test_a_kind_not_meant_for_the_user_is_refused(client, resident):
    client.force_login(resident)
    response = client.post(URL, _post_data({"organisation.role_changed": "never"}))
    assert response.status_code == 200
    assert "Type de notification inconnu." in response.content.decode()
    assert not NotificationPreference.objects.exists()
    assert not AuditEvent.objects.filter(action="notifications.preferences_changed").exists()


def test_an_unknown_frequency_is_refused(client, agent):
    client.force_login(agent)
    response = client.post(URL, _post_data({"system.announcement": "hourly"}))
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert not NotificationPreference.objects.exists()


def test_anonymous_is_sent_to_login(client, organisation):
    for response in (client.get(URL), client.post(URL, _post_data({}))):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    assert not NotificationPreference.objects.exists()


def test_a_session_is_worthless_on_another_organisations_host(client, agent, other_organisation):
    client.force_login(agent)
    response = client.post(URL, _post_data({"system.announcement": "never"}),
                           HTTP_HOST="autre.localhost")
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    assert not NotificationPreference.objects.exists()


def test_foreign_agent_only_changes_their_own_preferences(client, agent, foreign_agent):
    client.force_login(foreign_agent)
    response = client.post(URL, _post_data({"system.announcement": "never"}),
                           HTTP_HOST="autre.localhost")
    assert response.status_code == 302
    assert list(NotificationPreference.objects.values_list("user", flat=True)) == [
        foreign_agent.pk]
    event = AuditEvent.objects.get(action="notifications.preferences_changed")
    assert event.organisation == foreign_agent.organisation
