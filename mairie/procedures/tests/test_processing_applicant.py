"""The applicant's side of processing: their dossier page (state, what is expected, public
history, the thread), their messages to the service, and the tracking page of anonymous
applicants — never anything the agents keep to themselves."""

import html

import pytest
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory
from mairie.core.notifications.models import Notification
from mairie.procedures import processing
from mairie.procedures.models import Audience, DossierMessage, Label

from .processing_helpers import a_pdf, disguised_exe, file_dossier, make_waiting_procedure


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def waiting_procedure(organisation, service, administrator):
    return make_waiting_procedure(organisation, service, actor=administrator)


@pytest.fixture
def dossier(waiting_procedure, resident):
    return file_dossier(waiting_procedure, resident, number="2026-000601")


@pytest.fixture
def anonymous_dossier(organisation, service, administrator):
    procedure = make_waiting_procedure(organisation, service, actor=administrator,
                                       slug="aide-anonyme", audience=Audience.ANYONE)
    return file_dossier(procedure, None, number="2026-000602", email="anonyme@example.org")


def dossier_url(dossier):
    return reverse("procedures:dossier", args=[dossier.pk])


def message_url(dossier):
    return reverse("procedures:dossier-message", args=[dossier.pk])


def test_the_applicant_reads_state_history_and_thread_but_no_private_work(
        client, agent, resident, dossier, organisation, other_service):
    label = Label.objects.create(organisation=organisation, name="Dossier sensible")
    processing.set_labels(actor=agent, dossier=dossier, labels=[label])
    processing.annotate(actor=agent, dossier=dossier, body="Vérifier le quotient familial")
    processing.assign(actor=agent, dossier=dossier, to=agent)
    processing.request_opinion(actor=agent, dossier=dossier, service=other_service,
                               question="Conforme au règlement ?")
    processing.send_agent_message(actor=agent, dossier=dossier, body="Dossier bien reçu.")
    client.force_login(resident)
    response = client.get(dossier_url(dossier))
    assert response.status_code == 200
    content = text(response)
    for shown in ("Dossier n° 2026-000601", "Reçu par la mairie", "Dossier bien reçu.",
                  "Message du service", "Dossier déposé",
                  reverse("procedures:receipt", args=[dossier.pk]), "Envoyer le message"):
        assert shown in content, shown
    for hidden in ("Dossier sensible", "quotient familial", "Conforme au règlement",
                   "Annotation", "attribué", "Avis", "Étiquettes", str(agent)):
        assert hidden not in content, hidden


def test_the_applicant_writes_and_the_agent_is_notified(client, agent, resident, dossier):
    client.force_login(resident)
    response = client.post(message_url(dossier),
                           {"message-body": "Voici mon attestation.",
                            "message-attachment": a_pdf("attestation.pdf")})
    assert response.status_code == 302
    message = DossierMessage.objects.get(dossier=dossier)
    assert message.from_applicant and message.author == resident
    assert Notification.objects.filter(recipient=agent, kind=processing.KIND_MESSAGE,
                                       url=reverse("procedures:agent-dossier-tab",
                                                   args=[dossier.pk, "messagerie"])).exists()
    assert AuditEvent.objects.filter(action="procedures.message_received").exists()
    content = text(client.get(dossier_url(dossier)))
    assert "Voici mon attestation." in content and "attestation.pdf" in content
    client.force_login(agent)
    content = text(client.get(reverse("procedures:agent-dossier-tab",
                                      args=[dossier.pk, "messagerie"])))
    assert "Voici mon attestation." in content and "Le demandeur" in content
    assert client.get(reverse("files:download",
                              args=[message.attachment.pk])).status_code == 200


def test_only_the_assigned_agent_is_told_when_there_is_one(client, agent, resident, dossier,
                                                           service):
    colleague = agent_factory(service=service, email="collegue@valmont.example")
    processing.assign(actor=agent, dossier=dossier, to=colleague)
    client.force_login(resident)
    client.post(message_url(dossier), {"message-body": "Bonjour"})
    told = set(Notification.objects.filter(kind=processing.KIND_MESSAGE)
               .values_list("recipient", flat=True))
    assert told == {colleague.pk}


def test_an_empty_message_and_a_disguised_file_are_refused_with_the_text_kept(
        client, resident, dossier):
    client.force_login(resident)
    response = client.post(message_url(dossier), {"message-body": ""})
    assert response.status_code == 200
    assert "Écrivez votre message." in text(response)
    response = client.post(message_url(dossier), {"message-body": "Ma pièce",
                                                  "message-attachment": disguised_exe()})
    assert response.status_code == 200
    content = text(response)
    assert "Le fichier est de type" in content and "Ma pièce" in content
    assert not DossierMessage.objects.exists()


@pytest.mark.parametrize("who", ["other_resident", "agent"])
def test_nobody_else_sees_or_writes_on_the_applicants_page(client, request, dossier, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(dossier_url(dossier)).status_code == 404
    assert client.post(message_url(dossier), {"message-body": "Hop"}).status_code == 404
    assert not DossierMessage.objects.exists()


def test_another_organisation_and_anonymous_visitors_are_refused(client, dossier,
                                                                 foreign_resident):
    response = client.get(dossier_url(dossier))
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(foreign_resident)
    assert client.get(dossier_url(dossier), HTTP_HOST="autre.localhost").status_code == 404


def test_a_draft_has_no_dossier_page(client, resident, waiting_procedure):
    from mairie.procedures.services import start_dossier

    draft = start_dossier(actor_or_none=resident, definition=waiting_procedure)
    client.force_login(resident)
    assert client.get(dossier_url(draft)).status_code == 404


def test_my_dossiers_links_to_the_dossier_page(client, resident, dossier):
    client.force_login(resident)
    content = text(client.get(reverse("procedures:my-dossiers")))
    assert f'href="{dossier_url(dossier)}"' in content
    assert "Action attendue" not in content


def test_the_dossier_page_costs_the_same_with_a_longer_thread(
        client, agent, resident, waiting_procedure, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    short = file_dossier(waiting_procedure, resident, number="2026-000610")
    long = file_dossier(waiting_procedure, resident, number="2026-000611")
    for target, count in ((short, 1), (long, 8)):
        for i in range(count):
            processing.send_agent_message(actor=agent, dossier=target, body=f"Message {i}",
                                          attachment=a_pdf(f"m{i}.pdf"))
    client.force_login(resident)
    client.get(dossier_url(short))
    counts = []
    for target in (short, long):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(dossier_url(target)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    with django_assert_max_num_queries(25):
        client.get(dossier_url(long))


# --- Tracking page (anonymous applicant) ------------------------------------------------------


def tracking_url(dossier, name="tracking", *args):
    return reverse(f"procedures:{name}", args=[dossier.tracking_code, *args])


def test_the_tracking_page_shows_the_thread_and_only_public_events(client, agent,
                                                                   anonymous_dossier):
    dossier = anonymous_dossier
    processing.annotate(actor=agent, dossier=dossier, body="Note interne")
    processing.assign(actor=agent, dossier=dossier, to=agent)
    message = processing.send_agent_message(actor=agent, dossier=dossier,
                                            body="Pouvez-vous préciser le lieu ?",
                                            attachment=a_pdf("plan.pdf"))
    content = text(client.get(tracking_url(dossier)))
    assert "Pouvez-vous préciser le lieu ?" in content and "Message du service" in content
    assert "Annotation" not in content and "Note interne" not in content
    assert "attribué" not in content
    file_url = tracking_url(dossier, "tracking-file", message.attachment.pk)
    assert f'href="{file_url}?apercu=1"' in content
    response = client.get(file_url)
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert AuditEvent.objects.filter(action="files.downloaded",
                                     object_id=str(message.attachment.pk)).exists()


def test_an_anonymous_applicant_answers_through_the_tracking_page(client, agent,
                                                                  anonymous_dossier):
    dossier = anonymous_dossier
    response = client.post(tracking_url(dossier, "tracking-message"),
                           {"message-body": "Le lieu est la place de l'église."})
    assert response.status_code == 302
    message = DossierMessage.objects.get(dossier=dossier)
    assert message.from_applicant and message.author is None
    assert Notification.objects.filter(recipient=agent, kind=processing.KIND_MESSAGE).exists()
    response = client.post(tracking_url(dossier, "tracking-message"), {"message-body": " "})
    assert response.status_code == 200 and "Écrivez votre message." in text(response)


def test_the_tracking_code_opens_no_filed_file(client, anonymous_dossier):
    from mairie.core.files.services import store_upload
    from mairie.procedures.models import DossierFile

    stored = store_upload(actor=None, organisation=anonymous_dossier.organisation,
                          uploaded_file=a_pdf("identite.pdf"), purpose="dossier-file")
    DossierFile.objects.create(organisation=anonymous_dossier.organisation,
                               dossier=anonymous_dossier, field_key="piece",
                               stored_file=stored)
    url = tracking_url(anonymous_dossier, "tracking-file", stored.pk)
    assert client.get(url).status_code == 404


def test_the_tracking_code_only_opens_its_own_files(client, agent, anonymous_dossier,
                                                    dossier):
    other = processing.send_agent_message(actor=agent, dossier=dossier, body="Autre dossier",
                                          attachment=a_pdf("autre.pdf"))
    url = tracking_url(anonymous_dossier, "tracking-file", other.attachment.pk)
    assert client.get(url).status_code == 404
    bad = reverse("procedures:tracking-message", args=["mauvais-code"])
    assert client.post(bad, {"message-body": "Bonjour"}).status_code == 404
    assert not DossierMessage.objects.filter(from_applicant=True).exists()
