"""The filing journey in a browser with JavaScript disabled (axe-core still checks every page,
in a companion page: see tests/browser.py): a resident without JavaScript files a procedure
with a conditional field, makes a mistake, corrects it, sends it and gets the receipt."""

import re

from playwright.sync_api import expect

from mairie.procedures.models import Dossier


def test_filing_works_without_javascript(new_page, live_server, resident, procedure):
    page = new_page(user=resident, java_script_enabled=False)
    page.goto("/demarches/")
    page.get_by_role("link", name="Aide de test").click()
    page.get_by_role("button", name="Commencer").click()
    page.wait_for_url(re.compile(r"/page/identite/$"))

    # Without JavaScript the conditional field is on the page from the start; the server asks
    # for it only when its condition holds.
    spouse = page.get_by_label(re.compile(r"^Nom du conjoint"))
    expect(spouse).to_be_visible()
    page.get_by_label("Nom (obligatoire)", exact=True).fill("Martin")
    page.get_by_label("Âge (obligatoire)", exact=True).fill("42")
    page.get_by_role("radio", name="En couple").check()
    page.get_by_role("button", name="Enregistrer et continuer").click()
    expect(page.locator("#error-summary")).to_contain_text("Nom du conjoint")
    expect(page.get_by_label("Nom (obligatoire)", exact=True)).to_have_value("Martin")
    expect(page.get_by_role("radio", name="En couple")).to_be_checked()

    page.get_by_label(re.compile(r"^Nom du conjoint")).fill("Durand")
    page.get_by_role("button", name="Enregistrer et continuer").click()
    page.wait_for_url(re.compile(r"/page/contact/$"))
    page.get_by_role("button", name="Enregistrer et vérifier").click()
    page.wait_for_url(re.compile(r"/recapitulatif/$"))
    expect(page.locator("main")).to_contain_text("Durand")
    page.get_by_role("button", name="Envoyer").click()
    page.wait_for_url(re.compile(r"/recepisse/$"))

    dossier = Dossier.objects.get(applicant=resident)
    assert dossier.data["conjoint"] == "Durand" and dossier.number
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre dossier est envoyé")
    expect(page.locator("main")).to_contain_text(dossier.number)
