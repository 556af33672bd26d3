"""In Chromium: a resident finds « Mes données » from « Mon compte » and downloads the JSON
copy; an administrator reads the register of processing activities. Both pages pass
axe-core."""

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
    assert page_watch.problems == []
