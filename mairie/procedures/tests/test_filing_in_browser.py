"""Journey in a real browser (axe-core checks every page): a resident files a procedure, makes
a mistake, corrects it, sends it and opens the PDF receipt.

The filing pages load no script but procedures/conditions.js (live conditional fields,
test_conditions_in_browser.py), which this journey does not rely on: it is the one a browser
without JavaScript makes; the view tests (`test_filing_views.py`) post the same forms
without any browser. (The harness runs axe through JavaScript, so it cannot watch a context
with JavaScript disabled.)"""

import io
import re

import pypdf
from playwright.sync_api import expect

from mairie.procedures.models import Dossier


def test_a_resident_files_with_an_error_then_a_correction(new_page, live_server, resident,
                                                          procedure):
    page = new_page(user=resident)
    page.goto("/demarches/")
    page.get_by_role("link", name="Aide de test").click()
    page.get_by_role("button", name="Commencer").click()
    page.wait_for_url(re.compile(r"/page/identite/$"))
    # The only script shows and hides the conditional field; nothing here needs it.
    assert page.locator("script[src]").count() == 1

    page.get_by_label("Nom (obligatoire)", exact=True).fill("Martin")
    page.get_by_label("Âge (obligatoire)", exact=True).fill("deux cents")
    page.get_by_role("radio", name="Seul").check()
    page.get_by_role("button", name="Enregistrer et continuer").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Âge")
    expect(page.get_by_label("Nom (obligatoire)", exact=True)).to_have_value("Martin")

    page.get_by_label("Âge (obligatoire)", exact=True).fill("42")
    page.get_by_role("button", name="Enregistrer et continuer").click()
    page.wait_for_url(re.compile(r"/page/contact/$"))
    expect(page.get_by_label("Courriel (obligatoire)", exact=True)).to_have_value(resident.email)
    page.get_by_role("button", name="Enregistrer et vérifier").click()
    page.wait_for_url(re.compile(r"/recapitulatif/$"))
    expect(page.get_by_text("Martin")).to_be_visible()
    page.get_by_role("button", name="Envoyer").click()
    page.wait_for_url(re.compile(r"/recepisse/$"))

    dossier = Dossier.objects.get(applicant=resident)
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre dossier est envoyé")
    expect(page.locator("main")).to_contain_text(dossier.number)
    pdf_url = page.get_by_role("link", name="Télécharger le récépissé (PDF)").get_attribute("href")
    response = page.request.get(pdf_url)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.body())).pages)
    assert dossier.number in text and "Martin" in text
