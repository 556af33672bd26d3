"""In Chromium: an agent exports the filtered inbox as CSV, downloads it, then opens the
statistics page; every page passes axe-core."""

import csv
import io

import pytest

from .agent_helpers import file_dossier
from .conftest import make_procedure

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_agent_exports_a_csv_downloads_it_and_reads_the_statistics(
        new_page, page_watch, live_server, organisation, service, agent, resident):
    procedure = make_procedure(organisation, service)
    file_dossier(procedure, resident, number="2026-000021", minutes_ago=5)
    file_dossier(procedure, resident, number="2026-000022", state="accepte")
    page = new_page(user=agent)
    page.goto("/agent/dossiers/")
    page.get_by_label("État").select_option(label="Déposé")
    page.click("button:has-text('Filtrer')")
    page.wait_for_url("**state=depose**")
    page.click("a:has-text('Exporter')")
    page.wait_for_selector("h1:has-text('Exporter des dossiers')")
    page_watch.check(page)
    page.get_by_label("Démarche").select_option(label="Aide de test")
    page.get_by_label("CSV (tableur").check()
    page.click("button:has-text(\"Lancer l'export\")")
    page.wait_for_selector("h1:has-text('Mes exports')")
    assert "Prêt" in page.content()
    page_watch.check(page)
    with page.expect_download() as download_info:
        page.click("a:has-text(\"Télécharger l'export CSV\")")
    download = download_info.value
    assert download.suggested_filename.startswith("export-aide-test-")
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8-sig").read()),
                           delimiter=";"))
    assert rows[0][:2] == ["Numéro", "État"] and "Âge" in rows[0]
    assert [row[0] for row in rows[1:]] == ["2026-000021"]  # the filter was kept

    page.goto("/agent/statistiques/")
    page.wait_for_selector("h1:has-text('Statistiques des dossiers')")
    assert page.locator("svg[role='img']").count() == 2
    page_watch.check(page)
    assert page_watch.problems == []
