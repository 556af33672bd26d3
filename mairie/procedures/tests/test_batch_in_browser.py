"""In Chromium: an agent ticks three dossiers of the inbox, chooses to add a label, confirms
on the second step and watches the batch's progress page finish; every page passes axe-core."""

import pytest
from playwright.sync_api import expect

from mairie.procedures.models import Batch, Dossier

from .batch_helpers import (
    file_many,
    make_batch_procedure,
)
from .inbox_helpers import label

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_agent_labels_three_dossiers_at_once(new_page, page_watch, live_server,
                                                 organisation, service, agent, resident):
    procedure = make_batch_procedure(organisation, service)
    urgent = label(organisation, "Urgent", "red")
    dossiers = file_many(procedure, resident, 5)
    page = new_page(user=agent)
    page.goto("/agent/dossiers/")
    page_watch.check(page)
    for number in ("2026-000001", "2026-000003", "2026-000004"):
        page.get_by_label(f"Sélectionner le dossier {number}").check()
    page.get_by_label("Action à appliquer").select_option(label="Ajouter une étiquette")
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_text("3 dossiers", exact=False).first).to_be_visible()
    page_watch.check(page)
    page.get_by_label("Étiquette").select_option(label="Urgent")
    page.get_by_role("button", name="Lancer le traitement").click()
    page.wait_for_url("**/agent/lots/*/")
    expect(page.locator("#batch-status")).to_contain_text("Terminé : 3 dossiers traités sur 3",
                                                          timeout=15_000)
    expect(page.locator("progress")).to_have_attribute("value", "3")
    page_watch.check(page)
    batch = Batch.objects.get()
    assert (batch.status, batch.done, batch.failed) == ("finished", 3, 0)
    labelled = sorted(Dossier.objects.filter(labels=urgent).values_list("number", flat=True))
    assert labelled == ["2026-000001", "2026-000003", "2026-000004"]
    assert len(dossiers) == 5
    page.get_by_role("link", name="Mes traitements par lot").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes traitements par lot")
    page_watch.check(page)
    assert page_watch.problems == []
