"""Journey (issue 5): at the France Services counter, a mediator receives a resident who has no
account. He creates her record, records a mandate with her consent (the code she received by
e-mail), files « Demande d'acte d'état civil » for her under it, and scans her paper document,
whose French text is then found by the search. Later she opens her account, confirms her
address, reads the mandate and its journal, and revokes it; the mediator can then no longer
act for her. Every page passes axe-core."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Role
from mairie.crm.models import Mandate, ResidentRecord
from mairie.crm.tests.scan_helpers import french_page
from mairie.procedures.models import Dossier
from mairie.procedures.tests.automation_helpers import make_civil_procedure

from .steps import (
    file_civil_status_request,
    find_resident_by_document_word,
    scan_at_the_counter,
    submit,
)

pytestmark = [pytest.mark.e2e, pytest.mark.ocr, pytest.mark.django_db(transaction=True)]

EMAIL = "josiane.breval@example.org"
PASSWORD = "Tournesol-Lavande-2026"


def last_code() -> str:
    return re.search(r"code : (\d{6})", mail.outbox[-1].body).group(1)


def test_assisted_mode_from_the_counter_to_the_residents_revocation(
        new_page, page_watch, live_server, organisation, service, other_service,
        administrator, tesseract, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MAIRIE_CLAMD_URL = ""
    settings.MAIRIE_FILE_DELIVERY = "django"
    civil = make_civil_procedure(organisation, service, actor=administrator)
    civil.mandate_domain = "papers"
    civil.save()
    # The mediator works at France Services, not in the service that processes the procedure.
    mediator = agent_factory(service=other_service, role=Role.MEDIATOR,
                             email="france-services@valmont.example")
    page = new_page(user=mediator)

    # She has no account and no record yet.
    page.goto("/agent/")
    page.get_by_role("link", name="Usagers").click()
    page.fill("[name=q]", "Josiane Bréval")
    page.get_by_role("button", name="Rechercher").click()
    page.wait_for_selector("h2:has-text('Aucune fiche trouvée')")
    page_watch.check(page)
    page.get_by_role("link", name="Créer une fiche").click()
    page.fill("[name=first_name]", "Josiane")
    page.fill("[name=email]", EMAIL)
    page.fill("[name=phone]", "06 45 67 89 10")
    page.get_by_role("button", name="Créer la fiche").click()
    page.wait_for_selector("h1:has-text('Josiane BRÉVAL')")
    page_watch.check(page)
    record = ResidentRecord.objects.get()
    assert record.account is None

    # The mandate, with the code she reads from her phone.
    page.get_by_role("link", name="Mandats").click()
    page.check("text=Papiers et citoyenneté")
    page.check("text=6 mois")
    page.check("text=Par un code envoyé à son adresse de courriel")
    page.get_by_role("button", name="Créer le mandat").click()
    page.wait_for_selector("text=En attente du consentement")
    page_watch.check(page)
    assert mail.outbox[-1].to == [EMAIL]
    page.fill("[name=code]", last_code())
    page.get_by_role("button", name="Valider le code").click()
    page.wait_for_selector("text=le mandat est actif")
    page_watch.check(page)

    # Under it, « Demande d'acte d'état civil », filled with her and filed in her name.
    file_civil_status_request(page, page_watch, record_pk=record.pk, name="Josiane BRÉVAL",
                              surname="Bréval")
    dossier = Dossier.objects.get()
    assert dossier.filed_by == mediator and dossier.applicant_email == EMAIL

    # Her paper birth certificate, scanned at the counter: Tesseract reads its French text,
    # and a word of it finds her record.
    page.goto(f"/agent/usagers/{record.pk}/")
    page.get_by_role("link", name="Numériser un document").click()
    page_watch.check(page)
    image = tmp_path / "acte.png"
    image.write_bytes(french_page())
    scan_at_the_counter(page, page_watch, image_path=image, title="Ancien acte de naissance")
    assert "Élisabeth Quérard" in page.inner_text("main")
    find_resident_by_document_word(page, page_watch, word="Quérard", name="Josiane BRÉVAL")

    # Later, at home, she opens her account with the same address and confirms it.
    home = new_page()
    home.goto("/comptes/signup/")
    form = home.locator("form:has(input[name=password1])")
    form.get_by_label("Prénom").fill("Josiane")
    form.get_by_label(re.compile(r"^Nom\b")).fill("Bréval")
    form.locator("input[name=email]").fill(EMAIL)
    form.locator("input[name=password1]").fill(PASSWORD)
    form.locator("input[name=password2]").fill(PASSWORD)
    submit(form)
    home.wait_for_url("**/comptes/confirm-email/")
    link = re.search(r"https?://\S+/comptes/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    home.goto(link)
    submit(home.locator(f"form[action$='{link[len(live_server.url):]}']"))
    home.wait_for_url(lambda url: "/confirm-email/" not in url)  # and she is signed in
    home.goto("/mon-compte/")
    page_watch.check(home)
    record.refresh_from_db()
    assert record.account is not None and record.account.email == EMAIL

    # Her mandate and its journal: the consent and the procedure filed under it.
    home.get_by_role("link", name="Mes mandats (aidants)").click()
    journal = home.inner_text("main")
    assert "Consentement donné par code reçu par courriel" in journal
    assert "Démarche « Demande d'acte d'état civil » ouverte en son nom" in journal
    page_watch.check(home)
    home.get_by_role("button", name=re.compile("Révoquer le mandat")).click()
    home.wait_for_selector("text=l'aidant ne peut plus agir pour vous")
    page_watch.check(home)
    assert Mandate.objects.get().state == "revoked"

    # The mediator can no longer act for her: filing in her account is refused.
    page.goto(f"/agent/usagers/{record.pk}/")
    page.select_option("[name=procedure]", label="Demande d'acte d'état civil")
    page.get_by_role("button", name="Ouvrir la démarche").click()
    page.wait_for_selector("text=il vous faut un mandat actif")
    page_watch.check(page)
    assert Dossier.objects.count() == 1
    page.get_by_role("link", name="Mandats").click()
    assert "Révoqué" in page.inner_text("main")
    page_watch.check(page)
    assert page_watch.problems == []
