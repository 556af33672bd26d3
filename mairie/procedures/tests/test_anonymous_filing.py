"""Filing without an account: the draft belongs to the browser session; after submission an
unguessable tracking link shows the state."""

from django.core import mail
from django.test import Client
from django.urls import reverse

from mairie.procedures.models import Dossier

from .helpers import FIRST_PAGE, page_url, post_page, start


def test_an_anonymous_visitor_files_and_follows_with_the_tracking_link(
        client, open_procedure, django_capture_on_commit_callbacks):
    dossier, location = start(client, open_procedure)
    assert dossier.applicant is None and location == page_url(dossier, "identite")
    assert post_page(client, dossier, "identite", FIRST_PAGE).status_code == 302
    assert post_page(client, dossier, "contact", {"courriel": "a@example.org"}).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("procedures:review", args=[dossier.pk]),
                               {"email": "anonyme@example.org"})
    assert response["Location"] == reverse("procedures:receipt", args=[dossier.pk])
    dossier.refresh_from_db()
    assert dossier.number and dossier.applicant_email == "anonyme@example.org"
    tracking = reverse("procedures:tracking", args=[dossier.tracking_code])
    assert len(dossier.tracking_code) >= 20
    assert tracking in client.get(response["Location"]).content.decode()
    assert mail.outbox[0].to == ["anonyme@example.org"] and tracking in mail.outbox[0].body

    # Any browser with the link sees the state, not the answers.
    page = Client().get(tracking)
    body = page.content.decode()
    assert page.status_code == 200 and dossier.number in body and "Déposé" in body
    assert "Martin" not in body
    # Another browser cannot open the dossier itself, nor its receipt.
    stranger = Client()
    assert stranger.get(reverse("procedures:receipt", args=[dossier.pk])).status_code == 404
    assert stranger.get(reverse("procedures:receipt-pdf", args=[dossier.pk])).status_code == 404
    # The visitor's own browser gets the PDF receipt.
    assert client.get(reverse("procedures:receipt-pdf", args=[dossier.pk])).status_code == 200


def test_a_wrong_or_draft_tracking_code_is_a_404(client, open_procedure):
    dossier, _ = start(client, open_procedure)
    assert client.get(reverse("procedures:tracking", args=[dossier.tracking_code])
                      ).status_code == 404  # not submitted yet
    assert client.get(reverse("procedures:tracking", args=["devine"])).status_code == 404


def test_the_tracking_link_does_not_work_on_another_organisation(client, open_procedure,
                                                                 other_organisation):
    dossier, _ = start(client, open_procedure)
    Dossier.objects.filter(pk=dossier.pk).update(number="2026-000001",
                                                 submitted_at="2026-01-01T10:00:00Z")
    url = reverse("procedures:tracking", args=[dossier.tracking_code])
    assert client.get(url).status_code == 200
    assert client.get(url, HTTP_HOST="autre.localhost").status_code == 404


def test_an_anonymous_visitor_cannot_start_a_procedure_that_needs_an_account(client, procedure):
    response = client.post(reverse("procedures:procedure", args=[procedure.slug]))
    assert response.status_code == 302 and "/comptes/login/" in response["Location"]
    assert not Dossier.objects.exists()
    body = client.get(reverse("procedures:procedure", args=[procedure.slug])).content.decode()
    assert "Se connecter pour commencer" in body


def test_an_anonymous_draft_resumes_in_another_browser_with_its_secret_link(
        client, open_procedure, resident, other_organisation):
    dossier, _ = start(client, open_procedure)
    assert post_page(client, dossier, "identite", FIRST_PAGE).status_code == 302
    page = client.get(page_url(dossier, "contact")).content.decode()
    resume = reverse("procedures:resume", args=[dossier.tracking_code])
    assert "Reprendre plus tard" in page and resume in page

    # The browser was closed: a new one has nothing, until the link is opened.
    later = Client()
    assert later.get(page_url(dossier, "contact")).status_code == 404
    response = later.get(resume)
    # Back on the last page saved, with what was typed.
    assert response.status_code == 302 and response["Location"] == page_url(dossier, "identite")
    assert "Martin" in later.get(response["Location"]).content.decode()
    assert post_page(later, dossier, "contact", {"courriel": "a@example.org"}
                     ).status_code == 302

    # A wrong code, another organisation, or an account's draft: 404.
    assert Client().get(reverse("procedures:resume", args=["devine"])).status_code == 404
    assert Client().get(resume, HTTP_HOST="autre.localhost").status_code == 404
    signed_in = Client()
    signed_in.force_login(resident)
    own, _ = start(signed_in, open_procedure)
    assert Client().get(reverse("procedures:resume", args=[own.tracking_code])
                        ).status_code == 404

    # Once submitted, the link leads to the tracking page.
    assert later.post(reverse("procedures:review", args=[dossier.pk]), {"email": ""}
                      ).status_code == 302
    assert Client().get(resume)["Location"] == reverse("procedures:tracking",
                                                       args=[dossier.tracking_code])
