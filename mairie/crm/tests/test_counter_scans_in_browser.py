"""In Chromium: at the counter, an agent photographs a document with the computer's camera
from the resident's record (the shot goes into the form's file input), then scans a page of
French text through the plain file input after the camera is refused; Tesseract reads it and
the agent finds the record by a word of the document. Every page passes axe-core."""

import pytest

from mairie.core.factories import agent_factory
from mairie.crm import services
from mairie.crm.models import CounterScan
from tests.e2e.steps import find_resident_by_document_word, scan_at_the_counter

from .scan_helpers import french_page

pytestmark = [pytest.mark.e2e, pytest.mark.ocr, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MAIRIE_CLAMD_URL = ""
    settings.MAIRIE_FILE_DELIVERY = "django"


def test_an_agent_scans_a_document_and_finds_the_record_by_its_text(
        tesseract, new_page, page_watch, live_server, organisation, service, tmp_path):
    agent = agent_factory(service=service, email="accueil@valmont.example")
    record = services.create_record(actor=agent, organisation=organisation, values={
        "first_name": "Martine", "last_name": "Dupuis"})

    # With a camera: the shot is put into the file input and sent with the form.
    page = new_page(user=agent, permissions=["camera"])
    page.goto(f"/agent/usagers/{record.pk}/")
    page_watch.check(page)
    page.get_by_role("link", name="Numériser un document").click()
    page.wait_for_url(f"**/agent/usagers/{record.pk}/numeriser/")
    page_watch.check(page)
    page.get_by_role("button", name="Prendre une photo avec la caméra").click()
    page.get_by_role("button", name="Prendre la photo").click()
    page.wait_for_selector("text=Photo prise")
    page_watch.recheck(page)
    chosen = page.locator("input[type=file]").evaluate(
        "input => [input.files.length, input.files[0].type, input.files[0].size]")
    assert chosen[0] == 1 and chosen[1] == "image/jpeg" and chosen[2] > 1000
    page.get_by_label("Ce que c'est (facultatif)").fill("Photo de test")
    page.get_by_role("button", name="Enregistrer le document").click()
    page.wait_for_selector("h1:has-text('Photo de test')")
    page_watch.check(page)
    photo = CounterScan.objects.get()
    assert photo.original.content_type == "image/jpeg" and photo.original.size == chosen[2]
    assert photo.get_state_display() in page.inner_text("main")

    # Without camera permission: the page says so, the plain file input does the job.
    page = new_page(user=agent)
    page.goto(f"/agent/usagers/{record.pk}/numeriser/")
    page.get_by_role("button", name="Prendre une photo avec la caméra").click()
    page.wait_for_selector("text=La caméra n’est pas accessible")
    page_watch.recheck(page)
    image = tmp_path / "acte.png"
    image.write_bytes(french_page())
    scan_at_the_counter(page, page_watch, image_path=image, title="Acte de naissance")
    assert "Élisabeth Quérard" in page.inner_text("main")

    find_resident_by_document_word(page, page_watch, word="Quérard", name="Martine DUPUIS")
    page.wait_for_selector("text=Acte de naissance")
    page_watch.check(page)
    assert page_watch.problems == []
