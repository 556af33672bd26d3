"""In Chromium (axe-core checks every page): a resident sees that the service asks for a
correction, corrects the one unlocked field after a mistake, then writes to the service."""

import re
import threading

from playwright.sync_api import expect

from mairie.procedures import processing
from mairie.procedures.models import CorrectionRequest, DossierMessage

from .processing_helpers import file_dossier, make_waiting_procedure


def test_a_resident_answers_a_correction_and_writes_to_the_service(
        new_page, live_server, organisation, service, administrator, agent, resident):
    procedure = make_waiting_procedure(organisation, service, actor=administrator)
    dossier = file_dossier(procedure, resident, number="2026-000701")
    # Outside Playwright's event loop, where notify() pushes to the websockets after commit.
    asking = threading.Thread(target=processing.request_correction, kwargs={
        "actor": agent, "dossier": dossier, "fields": ["age"],
        "message": "Votre âge semble erroné.", "return_state": "depose"})
    asking.start()
    asking.join()
    type(dossier).objects.filter(pk=dossier.pk).update(state="a_completer")

    page = new_page(user=resident)
    page.goto("/mes-demarches/")
    expect(page.locator("tbody")).to_contain_text("Action attendue")
    page.get_by_role("link", name=re.compile("Voir")).click()
    page.wait_for_url(re.compile(rf"/mes-demarches/{dossier.pk}/$"))
    expect(page.locator("main")).to_contain_text("En attente de vos corrections")
    expect(page.locator("main")).to_contain_text("Votre âge semble erroné.")
    page.get_by_role("link", name="Corriger mon dossier").click()
    page.wait_for_url(re.compile(r"/correction/$"))
    assert page.get_by_label("Nom (obligatoire)", exact=True).count() == 0

    age = page.get_by_label("Âge (obligatoire)", exact=True)
    expect(age).to_have_value("42")
    age.fill("deux cents")
    page.get_by_role("button", name="Envoyer mes corrections").click()
    expect(page.locator("#error-summary")).to_contain_text("Âge")
    expect(page.get_by_label("Âge (obligatoire)", exact=True)).to_have_value("deux cents")

    page.get_by_label("Âge (obligatoire)", exact=True).fill("43")
    page.get_by_role("button", name="Envoyer mes corrections").click()
    page.wait_for_url(re.compile(rf"/mes-demarches/{dossier.pk}/$"))
    expect(page.locator("main")).to_contain_text("Vos corrections sont envoyées")
    expect(page.locator("main")).to_contain_text("Reçu par la mairie")
    expect(page.locator("main")).not_to_contain_text("Action attendue")

    page.get_by_label("Votre message (obligatoire)").fill("Merci, j'ai corrigé mon âge.")
    page.get_by_role("button", name="Envoyer le message").click()
    page.wait_for_url(re.compile(rf"/mes-demarches/{dossier.pk}/#messages$"))
    expect(page.locator("#messages").locator("..")).to_contain_text(
        "Merci, j'ai corrigé mon âge.")

    dossier.refresh_from_db()
    assert dossier.state == "depose" and dossier.data["age"] == "43"
    assert CorrectionRequest.objects.get().answered_at is not None
    assert DossierMessage.objects.get().from_applicant


def test_an_agent_takes_the_dossier_writes_and_annotates(new_page, page_watch, live_server,
                                                        organisation, service,
                                                        administrator, agent, resident):
    procedure = make_waiting_procedure(organisation, service, actor=administrator)
    dossier = file_dossier(procedure, resident, number="2026-000702")
    page = new_page(user=agent)
    page.goto(f"/agent/dossiers/{dossier.pk}/")
    page_watch.check(page)
    page.get_by_role("button", name="Prendre le dossier").click()
    expect(page.locator("main")).to_contain_text("Dossier suivi par")

    page.get_by_role("link", name="Messagerie").click()
    expect(page.get_by_role("link", name="Messagerie")).to_have_attribute("aria-current", "page")
    page_watch.check(page)
    page.get_by_role("button", name="Envoyer au demandeur").click()  # empty: refused
    expect(page.locator("#error-summary")).to_contain_text("Écrivez votre message.")
    page.get_by_label("Votre message (obligatoire)").fill("Pouvez-vous préciser ?")
    page.get_by_role("button", name="Envoyer au demandeur").click()
    expect(page.locator("main")).to_contain_text("Message envoyé au demandeur.")
    page.get_by_role("link", name="Annotations et avis").click()
    page.get_by_label("Annotation privée (obligatoire)").fill("Demandeur connu du CCAS.")
    page.get_by_role("button", name="Ajouter l'annotation").click()
    expect(page.locator("main")).to_contain_text("Demandeur connu du CCAS.")
    page_watch.check(page)
    assert page_watch.problems == []
