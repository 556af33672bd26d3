"""Correction requests: an agent unlocks some fields, the applicant (signed in or through the
tracking code) corrects only those, and the dossier goes back to where it was."""

import html

import pytest
from django.core import mail
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.notifications.models import Notification
from mairie.procedures import processing
from mairie.procedures.models import Audience, CorrectionRequest, DossierEvent, DossierFile

from .processing_helpers import a_pdf, disguised_exe, file_dossier, make_waiting_procedure


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def waiting_procedure(organisation, service, administrator):
    return make_waiting_procedure(organisation, service, actor=administrator)


@pytest.fixture
def dossier(waiting_procedure, resident):
    return file_dossier(waiting_procedure, resident, number="2026-000501")


def ask(agent, dossier, fields=("age",), message="Votre âge semble erroné."):
    correction = processing.request_correction(actor=agent, dossier=dossier,
                                               fields=list(fields), message=message,
                                               return_state="depose")
    # The engine's "request_correction" action moves the dossier to a waiting state.
    type(dossier).objects.filter(pk=dossier.pk).update(state="a_completer")
    dossier.refresh_from_db()
    return correction


def correction_url(dossier):
    return reverse("procedures:correction", args=[dossier.pk])


# --- Asking -----------------------------------------------------------------------------------


def test_unknown_fields_and_a_second_open_request_are_refused(agent, dossier):
    with pytest.raises(processing.ProcessingRefused, match="n'existent pas.*pointure"):
        processing.request_correction(actor=agent, dossier=dossier, fields=["pointure"],
                                      message="?", return_state="depose")
    with pytest.raises(processing.ProcessingRefused, match="au moins un champ"):
        processing.request_correction(actor=agent, dossier=dossier, fields=[],
                                      message="?", return_state="depose")
    ask(agent, dossier)
    with pytest.raises(processing.ProcessingRefused, match="déjà en cours"):
        processing.request_correction(actor=agent, dossier=dossier, fields=["nom"],
                                      message="Et le nom.", return_state="depose")
    assert CorrectionRequest.objects.count() == 1


def test_only_processors_ask_for_corrections(resident, dossier, foreign_agent):
    for outsider in (resident, foreign_agent):
        with pytest.raises(processing.PermissionDenied):
            processing.request_correction(actor=outsider, dossier=dossier, fields=["age"],
                                          message="?", return_state="depose")


def test_the_applicant_is_told_and_sees_what_is_expected(client, agent, resident, dossier):
    ask(agent, dossier)
    notification = Notification.objects.get(recipient=resident,
                                            kind=processing.KIND_CORRECTION)
    assert notification.url == reverse("procedures:dossier", args=[dossier.pk])
    event = DossierEvent.objects.get(dossier=dossier, kind="correction_requested")
    assert event.public and event.details["fields"] == ["Âge"]
    client.force_login(resident)
    content = text(client.get(reverse("procedures:dossier", args=[dossier.pk])))
    assert "Action attendue de votre part" in content
    assert "Votre âge semble erroné." in content
    assert f'href="{correction_url(dossier)}"' in content
    assert "En attente de vos corrections" in content  # the public label of the state
    content = text(client.get(reverse("procedures:my-dossiers")))
    assert "Action attendue" in content
    assert f'href="{reverse("procedures:dossier", args=[dossier.pk])}"' in content


# --- Answering --------------------------------------------------------------------------------


def test_the_round_trip_changes_only_the_unlocked_field(client, agent, resident, dossier,
                                                        django_capture_on_commit_callbacks):
    ask(agent, dossier)
    client.force_login(resident)
    response = client.get(correction_url(dossier))
    content = text(response)
    assert response.status_code == 200
    assert 'name="age"' in content and 'value="42"' in content
    assert 'name="nom"' not in content and 'name="situation"' not in content
    assert "Le reste de votre dossier (non modifiable)" in content
    assert "Martin" in content and "En couple" in content  # shown, not editable
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(correction_url(dossier), {
            "lock_version": dossier.lock_version, "action": "send",
            "age": "43", "nom": "Pirate", "situation": "seul"})
    assert response.status_code == 302
    assert response["Location"] == reverse("procedures:dossier", args=[dossier.pk])
    dossier.refresh_from_db()
    assert dossier.data["age"] == "43"  # stored as filing stores numbers
    assert dossier.data["nom"] == "Martin" and dossier.data["situation"] == "couple"
    assert dossier.state == "depose"
    assert "43" in dossier.search_text and "pirate" not in dossier.search_text
    correction = CorrectionRequest.objects.get(dossier=dossier)
    assert correction.answered_at is not None and correction.answered_by == resident
    answered = DossierEvent.objects.get(dossier=dossier, kind="correction_answered")
    assert answered.public
    assert DossierEvent.objects.filter(dossier=dossier, kind="state_entered",
                                       details__reason="correction_answered").exists()
    assert AuditEvent.objects.filter(action="procedures.correction_answered").exists()
    assert Notification.objects.filter(recipient=agent,
                                       kind=processing.KIND_CORRECTION_ANSWERED).exists()
    # Nothing is expected any more: the correction page sends back to the dossier.
    assert "Action attendue" not in text(client.get(reverse("procedures:dossier",
                                                            args=[dossier.pk])))
    assert client.get(correction_url(dossier)).status_code == 302


def test_errors_keep_the_input_and_a_draft_survives(client, agent, resident, dossier):
    ask(agent, dossier)
    client.force_login(resident)
    response = client.post(correction_url(dossier), {
        "lock_version": dossier.lock_version, "action": "send", "age": "deux cents"})
    assert response.status_code == 200
    content = text(response)
    assert 'value="deux cents"' in content and "error-summary" in content
    dossier.refresh_from_db()
    assert dossier.data["age"] == 42 and dossier.state == "a_completer"
    # Saved as a draft, even invalid, it is shown again as typed with its error.
    response = client.post(correction_url(dossier), {
        "lock_version": dossier.lock_version, "action": "draft", "age": "200"})
    assert response.status_code == 302
    content = text(client.get(correction_url(dossier)))
    assert 'value="200"' in content and "error-summary" in content
    dossier.refresh_from_db()
    assert dossier.data["age"] == 42
    assert CorrectionRequest.objects.get().answered_at is None


def test_a_stale_page_is_refused_with_a_clear_message_and_the_input_kept(client, agent,
                                                                         resident, dossier):
    ask(agent, dossier)
    client.force_login(resident)
    stale = dossier.lock_version
    client.post(correction_url(dossier), {"lock_version": stale, "action": "draft",
                                          "age": "44"})
    response = client.post(correction_url(dossier), {"lock_version": stale,
                                                      "action": "send", "age": "45"})
    assert response.status_code == 409
    content = text(response)
    assert "modifié ailleurs" in content and 'value="45"' in content
    dossier.refresh_from_db()
    assert dossier.data["age"] == 42
    assert CorrectionRequest.objects.get().answered_at is None


def test_a_file_field_is_corrected_with_a_checked_file(client, agent, resident, dossier):
    ask(agent, dossier, fields=["piece"], message="Le justificatif est illisible.")
    client.force_login(resident)
    response = client.post(correction_url(dossier), {
        "lock_version": dossier.lock_version, "action": "send", "piece": disguised_exe()})
    assert response.status_code == 200
    assert "Le fichier est de type" in text(response)
    assert not DossierFile.objects.exists()
    dossier.refresh_from_db()
    response = client.post(correction_url(dossier), {
        "lock_version": dossier.lock_version, "action": "send",
        "piece": a_pdf("justificatif.pdf")})
    assert response.status_code == 302
    dossier.refresh_from_db()
    stored = DossierFile.objects.get(dossier=dossier).stored_file
    assert dossier.data["piece"] == str(stored.pk)
    assert stored.original_name == "justificatif.pdf"


@pytest.mark.parametrize("who", ["other_resident", "agent"])
def test_nobody_else_answers_a_correction(client, request, agent, dossier, who):
    ask(agent, dossier)
    client.force_login(request.getfixturevalue(who))
    assert client.get(correction_url(dossier)).status_code == 404
    assert client.post(correction_url(dossier), {"lock_version": dossier.lock_version,
                                                 "age": "1"}).status_code == 404
    dossier.refresh_from_db()
    assert dossier.data["age"] == 42


def test_another_organisation_cannot_reach_the_correction(client, agent, dossier,
                                                          foreign_resident):
    ask(agent, dossier)
    client.force_login(foreign_resident)
    assert client.get(correction_url(dossier), HTTP_HOST="autre.localhost").status_code == 404


def test_anonymous_visitors_are_sent_to_the_login_page(client, agent, dossier):
    ask(agent, dossier)
    response = client.get(correction_url(dossier))
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- Anonymous applicant, through the tracking code -------------------------------------------


@pytest.fixture
def anonymous_dossier(organisation, service, administrator):
    procedure = make_waiting_procedure(organisation, service, actor=administrator,
                                       slug="aide-anonyme", audience=Audience.ANYONE)
    return file_dossier(procedure, None, number="2026-000502", email="anonyme@example.org")


def test_an_anonymous_applicant_corrects_through_the_tracking_code(
        client, agent, anonymous_dossier, django_capture_on_commit_callbacks):
    dossier = anonymous_dossier
    with django_capture_on_commit_callbacks(execute=True):
        ask(agent, dossier, fields=["nom"], message="Écrivez votre nom complet.")
    assert len(mail.outbox) == 1
    tracking = reverse("procedures:tracking", args=[dossier.tracking_code])
    assert tracking in mail.outbox[0].body
    assert "Écrivez votre nom complet." in mail.outbox[0].body

    content = text(client.get(tracking))
    url = reverse("procedures:tracking-correction", args=[dossier.tracking_code])
    assert f'href="{url}"' in content and "Action attendue" in content
    response = client.get(url)
    content = text(response)
    assert response.status_code == 200 and 'name="nom"' in content
    assert 'name="age"' not in content
    # A tracking link travels: it shows no answers (decision 0313), not even the one to fix.
    assert "Martin" not in content and "Durand" not in content
    assert "non modifiable" not in content
    response = client.post(url, {"lock_version": dossier.lock_version, "action": "send",
                                 "nom": "Martin-Durand", "age": "1"})
    assert response.status_code == 302 and response["Location"] == tracking
    dossier.refresh_from_db()
    assert dossier.data["nom"] == "Martin-Durand" and dossier.data["age"] == 42
    assert dossier.state == "depose"


def test_a_wrong_tracking_code_is_a_404(client, agent, anonymous_dossier):
    ask(agent, anonymous_dossier)
    url = reverse("procedures:tracking-correction", args=["pas-le-bon-code"])
    assert client.get(url).status_code == 404


def test_the_account_holder_is_sent_to_their_account_from_the_tracking_link(
        client, agent, dossier):
    ask(agent, dossier)
    response = client.get(reverse("procedures:tracking-correction",
                                  args=[dossier.tracking_code]))
    assert response.status_code == 302
    assert response["Location"] == correction_url(dossier)
