"""In Chromium: a mail from an unknown address waits in the queue; an agent opens it, finds
the resident's record, attaches the mail to it and answers; the answer leaves and both are in
the record's timeline. Every page passes axe-core."""

import pytest
from django.core import mail

from mairie.crm import services
from mairie.crm.models import MailMessage

from .mail_helpers import deliver, make_mailbox, simple_mail

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_agent_attaches_an_unmatched_mail_and_answers_it(
        new_page, page_watch, live_server, settings, tmp_path, organisation, service, agent):
    settings.MEDIA_ROOT = tmp_path / "media"
    make_mailbox(service, display_name="Mairie — État civil")
    record = services.create_record(actor=agent, organisation=organisation, values={
        "first_name": "Jean", "last_name": "Dupont", "phone": "06 12 34 56 78"})
    deliver(simple_mail(sender="=?utf-8?q?Jean_Dupont_=28fils=29?= <jd.1958@example.net>",
                        subject="=?utf-8?q?Carte_d=27identit=C3=A9_perdue?="))

    page = new_page(user=agent)
    page.goto("/agent/")
    page.get_by_role("link", name="Courriels").click()
    page.wait_for_selector("text=Courriels à rattacher")
    assert "Expéditeur inconnu" in page.inner_text("main")
    page_watch.check(page)
    page.get_by_role("link", name="Carte d'identité perdue").click()
    page.wait_for_selector("text=Rattacher à une fiche")
    page_watch.check(page)
    page.fill("[name=q]", "dupond")
    page.get_by_role("button", name="Chercher").click()
    page.get_by_role("button", name="Rattacher à Jean DUPONT").click()
    page.wait_for_selector("text=Le courriel est rattaché à la fiche de Jean DUPONT")
    page_watch.check(page)
    page.fill("[name=body]", "Bonjour Monsieur,\nVenez avec une déclaration de perte.")
    page.get_by_role("button", name="Envoyer la réponse").click()
    page.wait_for_selector("text=Votre réponse est partie à jd.1958@example.net")
    page_watch.check(page)
    assert mail.outbox[-1].to == ["jd.1958@example.net"]
    assert mail.outbox[-1].extra_headers["In-Reply-To"] == "<horaires-1@example.net>"

    page.get_by_role("link", name="Retour à la fiche de Jean DUPONT").click()
    timeline = page.inner_text("main")
    assert "Courriel — Carte d'identité perdue" in timeline
    assert "Courriel — Re: Carte d'identité perdue" in timeline
    page_watch.check(page)
    assert MailMessage.objects.filter(record=record).count() == 2
    assert page_watch.problems == []
