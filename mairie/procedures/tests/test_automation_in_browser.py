"""In Chromium: a designer opens the "Automatisation" page from the builder, adds a routing
rule with a broken condition, reads the French error, fixes it and saves; the page passes
axe-core (no serious or critical violation) before and after."""

import pytest

from mairie.procedures.models import AutomationSettings

from .automation_helpers import make_civil_procedure  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_designer_adds_a_routing_rule(new_page, page_watch, live_server, organisation,
                                        service, administrator, other_service):
    civil = make_civil_procedure(organisation, service, actor=administrator)
    page = new_page(user=administrator)
    page.goto(f"/agent/demarches/{civil.pk}/")
    page.click("nav >> text=Automatisation")
    page.wait_for_selector("h1:has-text('Automatisation de la démarche')")
    page_watch.check(page)

    page.fill("[name=routing-0-label]", "Mariages à l'urbanisme")
    page.fill("[name=routing-0-condition]", 'categorie == "mariage')
    page.select_option("[name=routing-0-service]", label=other_service.name)
    page.get_by_role("button", name="Enregistrer l'automatisation").click()
    page.wait_for_selector("#error-summary")
    assert "Syntaxe incorrecte" in page.content()
    assert page.input_value("[name=routing-0-label]") == "Mariages à l'urbanisme"
    page_watch.check(page)

    page.fill("[name=routing-0-condition]", 'categorie == "mariage"')
    page.get_by_role("button", name="Enregistrer l'automatisation").click()
    page.wait_for_selector("text=L'automatisation de la démarche est enregistrée.")
    page_watch.check(page)
    assert page_watch.problems == []
    rules = AutomationSettings.objects.get(definition=civil).routing_rules
    assert rules[0]["service"] == str(other_service.pk)
