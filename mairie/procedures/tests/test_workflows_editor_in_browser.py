"""In Chromium: an administrator adds a state, then a transition asking for a motivation, to a
workflow, with plain forms (no JavaScript needed); every page passes axe-core."""

import pytest

from mairie.procedures.models import Workflow

from .conftest import make_workflow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_administrator_adds_a_state_and_a_transition_with_a_motivation(
        new_page, page_watch, live_server, organisation, administrator):
    workflow = make_workflow(organisation)
    page = new_page(user=administrator)
    page.goto("/agent/circuits/")
    page_watch.check(page)
    page.click("text=Simple")
    page.wait_for_selector("h1:has-text('Circuit « Simple »')")
    page_watch.check(page)

    page.click("text=Ajouter un état")
    page.wait_for_selector("h1:has-text('Ajouter un état')")
    page_watch.check(page)
    page.locator("#id_key").fill("en_instruction")
    page.get_by_label("Libellé pour les agents").fill("En instruction")
    page.get_by_label("Type d'état").select_option("instruction")
    page.get_by_label("Délai de traitement (jours)").fill("30")
    page.click("button:has-text('Enregistrer l')")
    page.wait_for_selector("h3:has-text('En instruction')")
    page_watch.check(page)

    page.click("text=Ajouter une transition")
    page.wait_for_selector("h1:has-text('Ajouter une transition')")
    page.locator("#id_key").fill("refuser")
    page.get_by_label("Libellé du bouton").fill("Refuser la demande")
    page.get_by_role("group", name="Depuis les états").get_by_label("En instruction").check()
    page.get_by_label("Vers l'état").select_option("accepte")
    page.get_by_label("Condition (facultative)").fill("age >= (18")
    page.get_by_label("Demander une motivation (obligatoire)").check()
    page.click("button:has-text('Enregistrer la transition')")
    # The bad condition comes back with its message; nothing typed is lost.
    page.wait_for_selector("#error-summary")
    assert "Syntaxe incorrecte" in page.locator("#id_guard_error").inner_text()
    assert page.get_by_label("Demander une motivation (obligatoire)").is_checked()
    page_watch.check(page)
    page.get_by_label("Condition (facultative)").fill("age >= 18")
    page.click("button:has-text('Enregistrer la transition')")
    page.wait_for_selector("caption:has-text('Étapes possibles depuis « En instruction »')")
    assert "Motivation (obligatoire)" in page.content()
    page_watch.check(page)
    assert page_watch.problems == []

    workflow = Workflow.objects.get(pk=workflow.pk)
    assert workflow.states[-1]["key"] == "en_instruction"
    refuse = workflow.transitions[-1]
    assert refuse["from"] == "en_instruction" and refuse["required_fields"] == ["motivation"]
