"""In Chromium: a resident without an account and without JavaScript asks for help for her
mother (a first try without a phone is refused and keeps what she wrote); the mediator sees it
in the queue, takes it, calls back and closes it; the contact is on the new record. Every page
passes axe-core."""

import pytest

from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Role
from mairie.crm.models import HelpRequest, ResidentRecord

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_relative_asks_for_help_and_a_mediator_calls_back(
        new_page, page_watch, live_server, organisation, service):
    mediator = agent_factory(service=service, role=Role.MEDIATOR,
                             email="mediation@valmont.example")
    page = new_page(java_script_enabled=False)
    page.goto("/")
    page.get_by_role("link", name="Besoin d'aide ?").click()
    page.fill("[name=name]", "Odette Marchal")
    page.check("text=Faire une démarche en ligne")
    page.fill("[name=message]", "Elle doit refaire sa carte grise en ligne")
    page.fill("[name=relative_name]", "Claire Marchal, sa fille")
    page.get_by_role("button", name="Envoyer ma demande d'aide").click()
    page.wait_for_selector("#error-summary")
    assert page.input_value("[name=message]") == "Elle doit refaire sa carte grise en ligne"
    page_watch.check(page)
    page.fill("[name=phone]", "04 76 00 11 22")
    page.fill("[name=best_time]", "après 18 h")
    page.get_by_role("button", name="Envoyer ma demande d'aide").click()
    page.wait_for_selector('h1:has-text("demande d\'aide est envoyée")')
    reference = HelpRequest.objects.get().reference
    assert reference in page.inner_text("main")
    page_watch.check(page)

    agent_page = new_page(user=mediator)
    agent_page.goto("/agent/")
    agent_page.get_by_role("link", name="Demandes d'aide").click()
    agent_page.get_by_role("link", name=reference).click()
    page_watch.check(agent_page)
    agent_page.get_by_role("button", name="Je m'en occupe").click()
    agent_page.wait_for_selector("text=Vous vous occupez de cette demande.")
    agent_page.check("text=Aidé au téléphone")
    agent_page.fill("[name=notes]", "Carte grise faite ensemble, au téléphone")
    page_watch.check(agent_page)
    agent_page.get_by_role("button", name="Terminer et noter sur la fiche").click()
    agent_page.wait_for_selector("h1:has-text('Odette MARCHAL')")
    assert "Carte grise faite ensemble" in agent_page.inner_text(".timeline")
    page_watch.check(agent_page)
    assert page_watch.problems == []
    assert ResidentRecord.objects.get().phone_digits == "476001122"
