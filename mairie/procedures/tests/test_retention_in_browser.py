"""In Chromium: a designer sets the retention rules of a procedure from the builder, without
JavaScript needed; the page passes axe-core, errors included."""

import pytest

from mairie.procedures.models_retention import RetentionPolicy

from .builder_helpers import manager_fixture  # noqa: F401 (fixture)
from .retention_helpers import make_retention_procedure

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_designer_sets_the_retention_rules(new_page, page_watch, live_server, organisation,
                                             service, manager):
    definition = make_retention_procedure(organisation, service)
    page = new_page(user=manager)
    page.goto(f"/agent/demarches/{definition.pk}/")
    page.click("nav >> text=Conservation")
    page.wait_for_selector("h1:has-text('Conservation des dossiers')")
    page_watch.check(page)

    page.get_by_label("Durée de conservation après la décision, en mois").fill("0")
    page.get_by_label("Supprimer : le dossier disparaît entièrement", exact=False).check()
    page.get_by_label("Pièce d'identité (piece_identite)").check()
    page.click("button:has-text('Enregistrer les règles de conservation')")
    page.wait_for_selector(".error-summary")
    assert page.get_by_label("Pièce d'identité (piece_identite)").is_checked()
    page_watch.check(page)

    page.get_by_label("Durée de conservation après la décision, en mois").fill("24")
    page.click("button:has-text('Enregistrer les règles de conservation')")
    page.wait_for_selector("text=Les règles de conservation sont enregistrées.")
    page_watch.check(page)
    policy = RetentionPolicy.objects.get(definition=definition)
    assert (policy.months, policy.mode, policy.identity_fields) == (24, "delete",
                                                                    ["piece_identite"])
    assert page_watch.problems == []
