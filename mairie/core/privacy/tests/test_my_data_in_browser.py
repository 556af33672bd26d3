"""In Chromium: a resident finds « Mes données » from « Mon compte » and downloads the JSON
copy; an administrator reads the register of processing activities, then enters and applies
the resident's erasure request. Every page passes axe-core."""

import json

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_resident_downloads_their_data_and_an_administrator_reads_the_register(
        new_page, page_watch, live_server, organisation, resident, administrator):
    page = new_page(user=resident)
    page.goto("/mon-compte/")
    page.get_by_role("link", name="Télécharger mes données").click()
    page.wait_for_selector("h1:has-text('Mes données')")
    page_watch.check(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger (JSON, pour un autre logiciel)").click()
    with open(download.value.path(), encoding="utf-8") as handle:
        data = json.load(handle)
    assert data["person"]["email"] == resident.email
    assert "procedures.dossiers" in {section["key"] for section in data["sections"]}

    admin_page = new_page(user=administrator)
    admin_page.goto("/agent/parametres/")
    admin_page.get_by_role("link", name="Registre des activités de traitement (RGPD)").click()
    admin_page.wait_for_selector("h2:has-text('Démarches en ligne')")
    page_watch.check(admin_page)

    # The resident writes to the DPO to be erased: the DPO enters and applies the request.
    admin_page.goto("/agent/parametres/")
    admin_page.get_by_role("link", name="Demandes sur les données personnelles").click()
    page_watch.check(admin_page)
    admin_page.get_by_label("Effacement", exact=True).check()
    admin_page.fill("[name=requester_name]", "Habitant de Valmont")
    admin_page.fill("[name=requester_email]", resident.email)
    admin_page.get_by_role("button", name="Inscrire la demande").click()
    admin_page.wait_for_selector("text=La demande est inscrite au registre")
    page_watch.check(admin_page)
    admin_page.get_by_role("button", name="Appliquer l'effacement").click()
    admin_page.wait_for_selector("h2:has-text('Conservé, et pourquoi')")
    assert "journal d'audit" in admin_page.inner_text("main")
    page_watch.check(admin_page)
    assert page_watch.problems == []
