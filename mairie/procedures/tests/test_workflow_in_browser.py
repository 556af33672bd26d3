"""In Chromium: an agent refuses a dossier, forgets the required motivation, reads the error,
fills it in and sees the new state; every page passes axe-core."""

import pytest
from playwright.sync_api import expect

from .workflow_helpers import Chain

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_agent_takes_a_transition_with_a_required_motivation(
        new_page, page_watch, live_server, organisation, service, administrator, resident):
    chain = Chain(organisation, service, administrator)
    dossier = chain.dossier(resident, number="2026-000321")
    page = new_page(user=chain.instructor)
    page.goto(f"/agent/dossiers/{dossier.pk}/")
    page_watch.check(page)

    page.click("text=Refuser…")
    page.wait_for_selector("h1:has-text('Refuser')")
    page_watch.check(page)
    page.click("button:has-text('Confirmer')")
    page.wait_for_selector(".error-summary")
    assert "« Motivation » est obligatoire pour franchir cette étape." in page.content()
    page_watch.check(page)

    page.get_by_label("Motivation").fill("Le justificatif de domicile manque.")
    page.click("button:has-text('Confirmer')")
    page.wait_for_selector("h1:has-text('Dossier n° 2026-000321')")
    content = page.content()
    assert "Refusé" in content
    assert "Lettre de refus" in content
    page.get_by_role("link", name="Historique").click()
    expect(page.locator("main")).to_contain_text("Motif : Le justificatif de domicile manque.")
    page_watch.check(page)
    assert page_watch.problems == []
    dossier.refresh_from_db()
    assert dossier.state == "refuse"
