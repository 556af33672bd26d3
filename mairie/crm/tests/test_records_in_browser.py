"""In Chromium, at the counter: a mediator looks for a resident who has no account (nobody
found, even misspelt), creates her record (a first try without any contact is refused and
keeps what was typed), logs the visit, files « Demande d'acte d'état civil » with her, in her
name, and finds her again by phone; every page passes axe-core."""

import pytest

from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Role
from mairie.crm.models import Interaction, ResidentRecord
from mairie.procedures.models import Dossier
from mairie.procedures.tests.automation_helpers import make_civil_procedure
from tests.e2e.steps import file_civil_status_request

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_mediator_creates_a_record_logs_a_visit_and_finds_it_again(
        new_page, page_watch, live_server, organisation, service, administrator):
    make_civil_procedure(organisation, service, actor=administrator)
    mediator = agent_factory(service=service, role=Role.MEDIATOR,
                             email="mediation@valmont.example")
    page = new_page(user=mediator)
    page.goto("/agent/")
    page.get_by_role("link", name="Usagers").click()
    page.fill("[name=q]", "Josiane Bréval")
    page.get_by_role("button", name="Rechercher").click()
    page.wait_for_selector("h2:has-text('Aucune fiche trouvée')")
    page_watch.check(page)

    page.get_by_role("link", name="Créer une fiche").click()
    assert page.input_value("[name=last_name]") == "Bréval"
    page.fill("[name=notes]", "Malvoyante : lire les courriers avec elle")
    page.get_by_role("button", name="Créer la fiche").click()
    page.wait_for_selector("#error-summary")
    assert "Indiquez au moins un moyen de joindre la personne" in page.content()
    assert page.input_value("[name=notes]") == "Malvoyante : lire les courriers avec elle"
    page_watch.check(page)

    page.fill("[name=phone]", "06 45 67 89 10")
    page.select_option("[name=preferred_channel]", "phone")
    page.get_by_role("button", name="Créer la fiche").click()
    page.wait_for_selector("h1:has-text('Josiane BRÉVAL')")
    page_watch.check(page)

    page.select_option("[name=channel]", "counter")
    page.fill("[name=subject]", "Aide pour la demande d'acte de naissance")
    page.select_option("[name=outcome]", "answered")
    page.get_by_role("button", name="Noter le contact").click()
    page.wait_for_selector("text=Le contact est noté sur la fiche.")
    assert "Aide pour la demande d'acte de naissance" in page.inner_text(".timeline")
    page_watch.check(page)

    # She came for a birth certificate: the mediator files it with her, in her name.
    file_civil_status_request(page, page_watch, record_pk=ResidentRecord.objects.get().pk,
                              name="Josiane BRÉVAL", surname="Bréval")
    dossier = Dossier.objects.get()
    assert dossier.number and dossier.filed_by == mediator and dossier.number in page.content()
    page.goto(f"/agent/usagers/{ResidentRecord.objects.get().pk}/")
    assert dossier.number in page.inner_text(".timeline")

    page.get_by_role("link", name="Retour à la recherche d'usagers").click()
    page.fill("[name=q]", "+33 6 45 67 89 10")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name="Josiane BRÉVAL").click()
    page.wait_for_selector("h1:has-text('Josiane BRÉVAL')")
    page_watch.check(page)
    assert page_watch.problems == []
    record = ResidentRecord.objects.get()
    assert record.account is None and record.phone_digits == "645678910"
    assert Interaction.objects.filter(agent=mediator).count() == 2
