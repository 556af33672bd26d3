"""In Chromium: an agent narrows the inbox to one label, then sorts it by the nearest deadline
with the select and reverses it with the column header; every page passes axe-core."""

import pytest
from django.utils import timezone

from mairie.procedures.models import Dossier

from .agent_helpers import file_dossier
from .conftest import make_procedure
from .inbox_helpers import in_days, label

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def rows(page):
    return page.locator("tbody th[scope=row]").all_inner_texts()


def test_an_agent_filters_by_label_and_sorts_by_deadline(new_page, page_watch, live_server,
                                                         organisation, service, agent,
                                                         resident):
    procedure = make_procedure(organisation, service)
    urgent = label(organisation, "Urgent", "red")
    label(organisation, "Pièce manquante", "orange")
    for number, deadline, tagged in (("2026-000001", in_days(9), True),
                                     ("2026-000002", in_days(-1), True),
                                     ("2026-000003", in_days(1), False),
                                     ("2026-000004", in_days(4), True)):
        dossier = file_dossier(procedure, resident, number=number)
        Dossier.objects.filter(pk=dossier.pk).update(deadline_at=deadline,
                                                     updated_at=timezone.now())
        if tagged:
            dossier.labels.add(urgent)
    page = new_page(user=agent)
    page.goto("/agent/dossiers/")
    page_watch.check(page)
    assert len(rows(page)) == 4

    page.get_by_label("Étiquette").select_option(label="Urgent")
    page.get_by_label("Trier par").select_option(label="Échéance la plus proche")
    page.click("button:has-text('Filtrer')")
    page.wait_for_url("**sort=deadline**")
    page_watch.check(page)
    assert rows(page) == ["2026-000002", "2026-000004", "2026-000001"]
    assert page.locator("th[aria-sort=ascending]").inner_text().startswith("Échéance")
    assert "Dépassée de 1 jour" in page.locator("tbody").inner_text()

    page.locator("th[aria-sort=ascending] a").click()  # the header reverses the order
    page.wait_for_url("**sort=-deadline**")
    page_watch.check(page)
    assert rows(page) == ["2026-000001", "2026-000004", "2026-000002"]
    assert page.locator("th[aria-sort=descending]").inner_text().startswith("Échéance")
    assert page.get_by_label("Étiquette").input_value() == str(urgent.pk)  # filter kept
    assert page_watch.problems == []
