"""The whole life of a dossier in Chromium, every page checked by axe-core: a resident files,
the instructor asks for a correction, the resident answers it, the chain of validators (head of
service, DGS, mayor's signature) validates, and the resident reads the decision and downloads
the decision letter, which names its signatories."""

import io
import re

import pypdf
import pytest
from playwright.sync_api import expect

from mairie.procedures.models import Dossier

from .workflow_helpers import Chain

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _open_dossier_from_inbox(page, number, box=None):
    page.goto("/agent/dossiers/" + (f"?box={box}" if box else ""))
    page.get_by_role("link", name=re.compile(number)).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Dossier n° {number}")


def _take(page, label, **fields):
    """Click a transition; on its page (when it has one) fill the fields and confirm."""
    link = page.get_by_role("link", name=f"{label}…")
    if link.count():
        link.click()
        expect(page.get_by_role("heading", level=1)).to_have_text(label)
        for field_label, value in fields.items():
            page.get_by_label(field_label).fill(value)
        page.get_by_role("button", name=f"Confirmer : {label}").click()
    else:
        page.get_by_role("button", name=label, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dossier n°")


def test_a_dossier_from_filing_to_the_signed_decision_letter(
        new_page, live_server, organisation, service, administrator, resident):
    chain = Chain(organisation, service, administrator)

    # The resident files the procedure.
    citizen = new_page(user=resident)
    citizen.goto("/demarches/")
    citizen.get_by_role("link", name="Aide à valider").click()
    citizen.get_by_role("button", name="Commencer").click()
    citizen.get_by_label("Nom (obligatoire)", exact=True).fill("Martn")
    citizen.get_by_label("Âge (obligatoire)", exact=True).fill("42")
    citizen.get_by_role("radio", name="Seul").check()
    citizen.get_by_role("button", name="Enregistrer et continuer").click()
    citizen.get_by_role("button", name="Enregistrer et vérifier").click()
    citizen.get_by_role("button", name="Envoyer").click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text("Votre dossier est envoyé")
    dossier = Dossier.objects.get(applicant=resident)
    number = dossier.number

    # The instructor takes it and asks for the misspelt name to be corrected.
    instructor = new_page(user=chain.instructor)
    _open_dossier_from_inbox(instructor, number)
    _take(instructor, "Prendre en charge")
    instructor.get_by_role("link", name="Demander des pièces…").click()
    instructor.get_by_role("checkbox", name="Nom", exact=True).check()
    instructor.get_by_label("Message au demandeur").fill("Votre nom semble mal orthographié.")
    instructor.get_by_role("button", name="Confirmer : Demander des pièces").click()
    expect(instructor.locator("main")).to_contain_text("En attente de pièces")

    # The resident sees what is expected, corrects only that answer and sends it.
    citizen.goto("/mes-demarches/")
    expect(citizen.locator("main")).to_contain_text("Action attendue")
    citizen.get_by_role("link", name=re.compile(r"^Voir")).first.click()
    expect(citizen.locator("main")).to_contain_text("Votre nom semble mal orthographié.")
    citizen.get_by_role("link", name=re.compile("Corriger")).first.click()
    assert citizen.get_by_label("Âge (obligatoire)", exact=True).count() == 0  # locked
    citizen.get_by_label(re.compile(r"^Nom")).fill("Martin")
    citizen.get_by_role("button", name="Envoyer mes corrections").click()
    expect(citizen.locator("main")).to_contain_text("En instruction")
    dossier.refresh_from_db()
    assert dossier.data["nom"] == "Martin" and dossier.state == "instruction"

    # The instructor proposes, the head of service, the DGS and the mayor validate and sign.
    instructor.reload()
    _take(instructor, "Proposer l'accord", Commentaire="Dossier complet.")
    head = new_page(user=chain.head)
    _open_dossier_from_inbox(head, number, box="validation")
    _take(head, "Valider", Commentaire="Conforme au règlement.")
    dgs = new_page(user=chain.dgs)
    _open_dossier_from_inbox(dgs, number, box="validation")
    _take(dgs, "Valider")
    mayor = new_page(user=chain.mayor)
    _open_dossier_from_inbox(mayor, number, box="validation")
    _take(mayor, "Signer la décision")
    expect(mayor.locator("main")).to_contain_text("Accordé")

    # The resident reads the decision and downloads the letter with its signatories.
    citizen.goto(f"/mes-demarches/{dossier.pk}/")
    expect(citizen.locator("main")).to_contain_text("Accordé")
    letter = citizen.get_by_role("link", name="Lettre de décision")
    response = citizen.request.get(letter.get_attribute("href"))
    assert response.ok and response.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.body())).pages)
    text = " ".join(text.split())
    assert number in text and "est accordée" in text
    for name in ("Inès Tructrice", "Charles Chef", "Denise Générale", "Marc Maire"):
        assert name in text, name
