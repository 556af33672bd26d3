"""In Chromium: an agent finds a dossier in the inbox with the filter form (no JavaScript
needed) and opens it; both pages pass axe-core (no serious or critical violation)."""

import pytest

from .agent_helpers import file_dossier
from .conftest import make_procedure

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_agent_filters_the_inbox_and_opens_a_dossier(new_page, page_watch, live_server,
                                                        organisation, service, agent,
                                                        resident):
    procedure = make_procedure(organisation, service)
    file_dossier(procedure, resident, number="2026-000007", minutes_ago=5)
    file_dossier(procedure, resident, number="2026-000008", email="x@example.org")
    page = new_page(user=agent)
    page.goto("/agent/dossiers/")
    page_watch.check(page)
    assert page.locator("tbody tr").count() == 2

    page.get_by_label("Numéro, nom ou courriel du demandeur").fill("000007")
    page.click("button:has-text('Filtrer')")
    page.wait_for_url("**q=000007**")
    assert page.locator("tbody tr").count() == 1
    page_watch.check(page)

    page.click("text=2026-000007")
    page.wait_for_selector("h1:has-text('Dossier n° 2026-000007')")
    assert "Données déposées" in page.content()
    page_watch.check(page)
    assert page_watch.problems == []
