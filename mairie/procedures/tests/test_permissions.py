"""Nobody but the applicant reaches a dossier's pages: another resident, an anonymous
visitor, an agent of another organisation all get a 404 (the dossier's existence stays
hidden)."""

import pytest
from django.urls import reverse

from mairie.procedures.rules import abilities
from mairie.procedures.services import start_dossier

from .helpers import FIRST_PAGE, page_url, post_page, start


@pytest.fixture
def submitted(client, resident, procedure):
    client.force_login(resident)
    dossier, _ = start(client, procedure)
    post_page(client, dossier, "identite", FIRST_PAGE)
    post_page(client, dossier, "contact", {"courriel": "m@example.org"})
    client.post(reverse("procedures:review", args=[dossier.pk]))
    dossier.refresh_from_db()
    assert dossier.number
    client.logout()
    return dossier


@pytest.fixture
def draft(resident, procedure):
    return start_dossier(actor_or_none=resident, definition=procedure, request=None)


def _dossier_urls(dossier):
    return [page_url(dossier, "identite"), reverse("procedures:review", args=[dossier.pk]),
            reverse("procedures:receipt", args=[dossier.pk]),
            reverse("procedures:receipt-pdf", args=[dossier.pk])]


@pytest.mark.parametrize("who", ["anonymous", "other_resident", "agent", "foreign_agent"])
def test_others_cannot_read_a_submitted_dossier(client, request, submitted, who):
    host = "testserver"
    if who != "anonymous":
        user = request.getfixturevalue(who)
        client.force_login(user)
        host = "autre.localhost" if who == "foreign_agent" else host
    for url in _dossier_urls(submitted):
        assert client.get(url, HTTP_HOST=host).status_code == 404, url


@pytest.mark.parametrize("who", ["anonymous", "other_resident", "foreign_agent"])
def test_others_cannot_change_a_draft(client, request, draft, who):
    host = "testserver"
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
        host = "autre.localhost" if who == "foreign_agent" else host
    response = post_page(client, draft, "identite", {**FIRST_PAGE, "nom": "Pirate"},
                         HTTP_HOST=host)
    assert response.status_code == 404
    assert client.post(reverse("procedures:review", args=[draft.pk]),
                       HTTP_HOST=host).status_code == 404
    draft.refresh_from_db()
    assert "nom" not in draft.data and draft.is_draft


def test_a_resident_does_not_reach_their_dossier_through_another_organisation_host(
        client, resident, draft, other_organisation):
    client.force_login(resident)
    assert client.get(page_url(draft, "identite")).status_code == 200
    assert client.get(page_url(draft, "identite"), HTTP_HOST="autre.localhost").status_code \
        in (302, 404)


def test_my_dossiers_lists_only_mine(client, resident, other_resident, draft):
    client.force_login(other_resident)
    assert "Aide de test" not in client.get(reverse("procedures:my-dossiers")).content.decode()
    client.force_login(resident)
    assert "Aide de test" in client.get(reverse("procedures:my-dossiers")).content.decode()


def test_my_dossiers_needs_an_account(client, organisation):
    response = client.get(reverse("procedures:my-dossiers"))
    assert response.status_code == 302 and "/comptes/login/" in response["Location"]


def test_abilities_follow_the_state(resident, other_resident, agent, draft, submitted):
    can = abilities(resident, draft)
    assert {key for key, allowed in can.items() if allowed} == {"view", "edit", "submit"}
    assert abilities(resident, submitted)["receipt"] and not abilities(resident,
                                                                       submitted)["edit"]
    assert not any(abilities(other_resident, submitted).values())
    # The agents of the owning service play the workflow's unmapped roles: they process it.
    can = abilities(agent, submitted)
    assert can["view"] and can["process"] and can["message"] and not can["edit"]
    assert not can["receipt"]
