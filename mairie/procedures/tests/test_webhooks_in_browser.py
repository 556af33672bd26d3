"""In Chromium: an administrator adds a webhook, sends a test and reads the delivery log;
every page passes axe-core (no serious or critical violation) and works without script."""

import pytest

from mairie.procedures.models import WebhookDelivery, WebhookEndpoint

from .api_helpers import (
    Receiver,
    make_api_procedure,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_administrator_configures_a_webhook_and_reads_the_log(new_page, page_watch,
                                                                 live_server, organisation,
                                                                 service, administrator):
    procedure = make_api_procedure(organisation, service, actor=administrator)
    with Receiver() as receiver:
        page = new_page(user=administrator)
        page.goto(f"/agent/demarches/{procedure.slug}/webhooks/")
        page_watch.check(page)

        page.click("text=Ajouter le webhook")  # empty: the error summary, nothing lost
        page.wait_for_selector("#error-summary")
        page_watch.check(page)

        page.get_by_label("Adresse de réception").fill(receiver.url)
        page.get_by_label("Dossier déposé").check()
        page.get_by_label("Étape franchie (changement d'état)").check()
        page.click("text=Ajouter le webhook")
        page.wait_for_selector("text=Webhook ajouté")
        assert WebhookEndpoint.objects.get().events == ["submitted", "transition"]
        page_watch.check(page)

        page.click("button:has-text('Envoyer un test')")
        page.wait_for_selector("text=Test envoyé")
        assert "Remis" in page.inner_text("table")
        assert len(receiver.requests) == 1
        page_watch.check(page)

        delivery = WebhookDelivery.objects.get()
        page.click(f"a[href$='envois/{delivery.pk}/']")
        page.wait_for_selector("h1:has-text('Envoi « ping »')")
        assert str(delivery.pk) in page.content()
        page_watch.check(page)
    assert page_watch.problems == []
