"""The filing path through the pages, as a resident without JavaScript goes through it."""

import io

import pypdf
import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import DEFAULT_PASSWORD
from mairie.procedures.models import Dossier, DossierFile

from .helpers import FIRST_PAGE, page_url, post_page, start

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def resident_client(client, resident):
    client.force_login(resident)
    return client


def test_procedure_page_explains_and_starts_a_draft(resident_client, procedure):
    response = resident_client.get(reverse("procedures:procedure", args=[procedure.slug]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Une aide pour tester le dépôt." in body and "Un justificatif de domicile." in body
    assert "Commencer" in body
    dossier, location = start(resident_client, procedure)
    assert location == page_url(dossier, "identite")
    assert dossier.is_draft and dossier.state == "brouillon" and dossier.number == ""
    # Prefilled from the account, on the page that asks for it.
    assert dossier.data["courriel"] == "habitant@example.org"


def test_errors_are_shown_and_what_was_typed_is_kept(resident_client, procedure):
    dossier, _ = start(resident_client, procedure)
    response = post_page(resident_client, dossier, "identite",
                         {"nom": "Martin", "age": "deux cents", "situation": "seul"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Le formulaire contient des erreurs" in body  # the summary
    assert 'class="error-message"' in body  # next to the field
    assert 'value="Martin"' in body and 'value="deux cents"' in body
    dossier.refresh_from_db()
    assert dossier.data["nom"] == "Martin"  # the valid answer is saved despite the error
    # Leaving and coming back: the page shows what was typed, and why it was refused.
    body = resident_client.get(page_url(dossier, "identite")).content.decode()
    assert 'value="deux cents"' in body and "Le formulaire contient des erreurs" in body


def test_a_conditional_field_is_required_only_when_shown(resident_client, procedure):
    dossier, _ = start(resident_client, procedure)
    response = post_page(resident_client, dossier, "identite", FIRST_PAGE)
    assert response.status_code == 302 and response["Location"] == page_url(dossier, "contact")
    response = post_page(resident_client, dossier, "identite",
                         {**FIRST_PAGE, "situation": "couple"})
    assert response.status_code == 200
    assert "Nom du conjoint" in response.content.decode()
    response = post_page(resident_client, dossier, "identite",
                         {**FIRST_PAGE, "situation": "couple", "conjoint": "Durand"})
    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.data["conjoint"] == "Durand"


def test_a_draft_survives_a_logout_and_resumes(client, resident, procedure):
    client.force_login(resident)
    dossier, _ = start(client, procedure)
    response = post_page(client, dossier, "identite", FIRST_PAGE, action="draft")
    assert response.status_code == 302
    client.post(reverse("account_logout"))
    assert client.get(page_url(dossier, "identite")).status_code == 404
    assert client.login(email=resident.email, password=DEFAULT_PASSWORD)
    listing = client.get(reverse("procedures:my-dossiers")).content.decode()
    assert "Aide de test" in listing and "Reprendre le brouillon" in listing
    assert page_url(dossier, "identite") in listing
    body = client.get(page_url(dossier, "identite")).content.decode()
    assert 'value="Martin"' in body and 'value="42"' in body


def test_a_stale_page_is_refused_and_overwrites_nothing(resident_client, procedure):
    dossier, _ = start(resident_client, procedure)
    old_lock = Dossier.objects.get(pk=dossier.pk).lock_version
    post_page(resident_client, dossier, "identite", FIRST_PAGE)  # saved in another tab
    response = post_page(resident_client, dossier, "identite",
                         {**FIRST_PAGE, "nom": "Autre onglet"}, lock_version=old_lock)
    body = response.content.decode()
    assert response.status_code == 409
    assert "modifié ailleurs" in body and 'value="Autre onglet"' in body  # input kept on screen
    dossier.refresh_from_db()
    assert dossier.data["nom"] == "Martin"


def test_previous_goes_back_without_losing_answers(resident_client, procedure):
    dossier, _ = start(resident_client, procedure)
    post_page(resident_client, dossier, "identite", FIRST_PAGE)
    response = post_page(resident_client, dossier, "contact", {"courriel": "pas-une-adresse"},
                         action="previous")
    assert response["Location"] == page_url(dossier, "identite")
    body = resident_client.get(page_url(dossier, "contact")).content.decode()
    assert 'value="pas-une-adresse"' in body


def _fill_and_review(client, dossier, *, file=None):
    assert post_page(client, dossier, "identite", FIRST_PAGE).status_code == 302
    data = {"courriel": "martin@example.org"}
    if file is not None:
        data["piece"] = file
    response = post_page(client, dossier, "contact", data)
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == reverse("procedures:review", args=[dossier.pk])
    return client.get(response["Location"])


def test_submission_gives_a_number_a_receipt_a_pdf_and_an_email(
        resident_client, procedure, django_capture_on_commit_callbacks):
    dossier, _ = start(resident_client, procedure)
    upload = SimpleUploadedFile("justificatif.pdf", PDF_BYTES, content_type="application/pdf")
    review = _fill_and_review(resident_client, dossier, file=upload)
    body = review.content.decode()
    assert "Martin" in body and "Modifier" in body and "Envoyer" in body
    with django_capture_on_commit_callbacks(execute=True):  # the e-mail leaves after commit
        response = resident_client.post(reverse("procedures:review", args=[dossier.pk]))
    assert response["Location"] == reverse("procedures:receipt", args=[dossier.pk])
    dossier.refresh_from_db()
    assert dossier.state == "depose" and dossier.submitted_at is not None
    assert dossier.number.startswith(f"{dossier.submitted_at.year}-")
    assert list(dossier.events.values_list("kind", flat=True)) == ["started", "submitted"]
    assert AuditEvent.objects.filter(action="procedures.dossier_submitted",
                                     object_id=str(dossier.pk)).exists()
    assert DossierFile.objects.get(dossier=dossier).stored_file.original_name \
        == "justificatif.pdf"

    receipt = resident_client.get(response["Location"]).content.decode()
    assert dossier.number in receipt and "recepisse.pdf" in receipt

    pdf = resident_client.get(reverse("procedures:receipt-pdf", args=[dossier.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert dossier.number in text and "Martin" in text and "justificatif.pdf" in text

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["habitant@example.org"] and dossier.number in message.subject
    assert dossier.number in message.body

    # Submitted: the pages no longer accept changes.
    response = post_page(resident_client, dossier, "identite", {**FIRST_PAGE, "nom": "X"})
    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.data["nom"] == "Martin"


def test_submission_refused_while_a_page_is_invalid(resident_client, procedure):
    dossier, _ = start(resident_client, procedure)
    post_page(resident_client, dossier, "identite", {"nom": "Martin"}, action="draft")
    response = resident_client.post(reverse("procedures:review", args=[dossier.pk]))
    assert response["Location"] == page_url(dossier, "identite")
    dossier.refresh_from_db()
    assert dossier.is_draft and dossier.number == "" and len(mail.outbox) == 0


def test_a_closed_procedure_refuses_the_submission(resident_client, procedure):
    from django.utils import timezone

    dossier, _ = start(resident_client, procedure)
    _fill_and_review(resident_client, dossier)
    procedure.closes_at = timezone.now()
    procedure.save()
    response = resident_client.post(reverse("procedures:review", args=[dossier.pk]))
    assert response.status_code == 200
    assert "close depuis" in response.content.decode()
    dossier.refresh_from_db()
    assert dossier.is_draft


def test_a_capped_procedure_refuses_once_full(resident_client, procedure, other_resident, client):
    procedure.max_submissions = 1
    procedure.save()
    first, _ = start(resident_client, procedure)
    _fill_and_review(resident_client, first)
    second, _ = start(resident_client, procedure)
    _fill_and_review(resident_client, second)
    assert resident_client.post(reverse("procedures:review", args=[first.pk])).status_code == 302
    response = resident_client.post(reverse("procedures:review", args=[second.pk]))
    assert "nombre maximal" in response.content.decode()
    second.refresh_from_db()
    assert second.is_draft
