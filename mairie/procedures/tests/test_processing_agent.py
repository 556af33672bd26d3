"""Processing on the agent's dossier page: assignment, labels, messages to the applicant,
private annotations, expert opinions — and who may do each of them."""

import html

import pytest
from django.core import mail
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory
from mairie.core.notifications.models import Notification
from mairie.core.organisation.models import Role
from mairie.procedures import processing
from mairie.procedures.models import (
    DossierAnnotation,
    DossierEvent,
    DossierMessage,
    Label,
    OpinionRequest,
)

from .processing_helpers import a_pdf, disguised_exe, file_dossier


@pytest.fixture
def dossier(procedure, resident):
    return file_dossier(procedure, resident, number="2026-000401")


@pytest.fixture
def colleague(service):
    return agent_factory(service=service, email="collegue@valmont.example",
                         first_name="Claire", last_name="Collègue")


@pytest.fixture
def expert(other_service):
    return agent_factory(service=other_service, email="urbaniste@valmont.example",
                         first_name="Ulysse", last_name="Urbaniste")


def text(response) -> str:
    return html.unescape(response.content.decode())


def page(dossier, tab=""):
    if tab:
        return reverse("procedures:agent-dossier-tab", args=[dossier.pk, tab])
    return reverse("procedures:agent-dossier", args=[dossier.pk])


def action(name, dossier, *args):
    return reverse(f"procedures:agent-{name}", args=[dossier.pk, *args])


# --- Assignment -------------------------------------------------------------------------------


def test_an_agent_takes_assigns_and_releases_the_dossier(client, agent, colleague, dossier):
    client.force_login(agent)
    response = client.get(page(dossier))
    assert "Personne ne suit ce dossier" in text(response)
    assert client.post(action("assign", dossier), {"action": "take"}).status_code == 302
    dossier.refresh_from_db()
    assert dossier.assigned_to == agent
    assert "Dossier suivi par" in text(client.get(page(dossier)))

    client.post(action("assign", dossier), {"action": "assign", "assign-agent": colleague.pk})
    dossier.refresh_from_db()
    assert dossier.assigned_to == colleague
    assert Notification.objects.filter(recipient=colleague, kind=processing.KIND_ASSIGNED,
                                       url=page(dossier)).exists()

    client.post(action("assign", dossier), {"action": "release"})
    dossier.refresh_from_db()
    assert dossier.assigned_to is None
    events = DossierEvent.objects.filter(dossier=dossier, kind="assigned")
    assert events.count() == 3 and not events.filter(public=True).exists()
    assert AuditEvent.objects.filter(action="procedures.dossier_assigned").count() == 3


def test_assigning_to_someone_outside_the_services_is_refused(client, agent, expert, dossier):
    client.force_login(agent)
    response = client.post(action("assign", dossier),
                           {"action": "assign", "assign-agent": expert.pk}, follow=True)
    assert "Choisissez un agent dans la liste." in text(response)
    dossier.refresh_from_db()
    assert dossier.assigned_to is None


# --- Labels -----------------------------------------------------------------------------------


def test_labels_are_put_on_a_dossier_from_the_procedures_and_shared_ones(
        client, agent, dossier, procedure, organisation, foreign_procedure):
    shared = Label.objects.create(organisation=organisation, name="Urgent", colour="red")
    own = Label.objects.create(organisation=organisation, name="Pièce manquante",
                               definition=procedure)
    foreign = Label.objects.create(organisation=foreign_procedure.organisation, name="Ailleurs")
    client.force_login(agent)
    content = text(client.get(page(dossier)))
    assert "Urgent" in content and "Pièce manquante" in content and "Ailleurs" not in content
    client.post(action("labels", dossier), {"labels-labels": [shared.pk, own.pk]})
    assert set(dossier.labels.all()) == {shared, own}
    response = client.post(action("labels", dossier), {"labels-labels": [foreign.pk]},
                           follow=True)
    assert "Cette étiquette n'existe pas pour cette démarche." in text(response)
    assert set(dossier.labels.all()) == {shared, own}
    assert DossierEvent.objects.get(dossier=dossier, kind="labels").public is False


def test_the_labels_page_creates_renames_and_deletes(client, agent, organisation):
    client.force_login(agent)
    url = reverse("procedures:labels")
    assert client.get(url).status_code == 200
    response = client.post(url, {"new-name": "", "new-colour": "blue"})
    assert response.status_code == 200
    assert "Donnez un nom à l'étiquette." in text(response)
    client.post(url, {"new-name": "À rappeler", "new-colour": "blue"})
    label = Label.objects.get(organisation=organisation)
    assert (label.name, label.colour, label.definition) == ("À rappeler", "blue", None)
    response = client.post(url, {"new-name": "à rappeler", "new-colour": "red"})
    assert "Une étiquette porte déjà ce nom." in text(response)
    assert 'value="à rappeler"' in text(response)  # what was typed is kept
    client.post(url, {"label": label.pk, "action": "save", f"label-{label.pk}-name": "Rappel",
                      f"label-{label.pk}-colour": "green"})
    label.refresh_from_db()
    assert (label.name, label.colour) == ("Rappel", "green")
    client.post(url, {"label": label.pk, "action": "delete"})
    assert not Label.objects.exists()
    assert AuditEvent.objects.filter(action__startswith="procedures.label_").count() == 3


def test_another_organisations_labels_cannot_be_touched(client, foreign_agent, organisation):
    label = Label.objects.create(organisation=organisation, name="Urgent")
    client.force_login(foreign_agent)
    response = client.post(reverse("procedures:labels"), {"label": label.pk, "action": "delete"},
                           HTTP_HOST="autre.localhost")
    assert response.status_code == 404
    assert Label.objects.filter(pk=label.pk).exists()


def test_a_resident_cannot_reach_the_labels_page(client, resident):
    client.force_login(resident)
    assert client.get(reverse("procedures:labels")).status_code == 403


# --- Messages ---------------------------------------------------------------------------------


def test_a_message_to_an_applicant_with_an_account_notifies_them(client, agent, resident,
                                                                 dossier):
    client.force_login(agent)
    response = client.post(action("message", dossier),
                           {"message-body": "Merci d'envoyer votre avis d'imposition.",
                            "message-attachment": a_pdf("modele.pdf")})
    assert response.status_code == 302
    message = DossierMessage.objects.get(dossier=dossier)
    assert not message.from_applicant and message.author == agent
    assert message.attachment.original_name == "modele.pdf"
    notification = Notification.objects.get(recipient=resident, kind=processing.KIND_MESSAGE)
    assert notification.url == reverse("procedures:dossier", args=[dossier.pk])
    assert DossierEvent.objects.get(dossier=dossier, kind="message").public is True
    assert AuditEvent.objects.filter(action="procedures.message_sent").exists()
    assert "Merci d'envoyer votre avis" in text(client.get(page(dossier, "messagerie")))
    # The applicant may open the attachment; another resident may not.
    client.force_login(resident)
    download = reverse("files:download", args=[message.attachment.pk])
    assert f'href="{download}?apercu=1" target="_blank"' in text(
        client.get(reverse("procedures:dossier", args=[dossier.pk])))
    response = client.get(download)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    preview = client.get(download + "?apercu=1")  # opens in the browser's PDF viewer
    assert preview["Content-Disposition"].startswith("inline")
    assert "sandbox" not in preview["Content-Security-Policy"]
    assert preview["X-Content-Type-Options"] == "nosniff"


def test_a_preview_never_shows_another_residents_attachment(client, agent, other_resident,
                                                            dossier):
    message = processing.send_agent_message(actor=agent, dossier=dossier, body="Pièce",
                                            attachment=a_pdf())
    client.force_login(other_resident)
    url = reverse("files:download", args=[message.attachment.pk]) + "?apercu=1"
    assert client.get(url).status_code == 404


def test_an_anonymous_applicant_gets_the_message_by_email_with_the_tracking_link(
        client, agent, open_procedure, django_capture_on_commit_callbacks):
    dossier = file_dossier(open_procedure, None, number="2026-000402",
                           email="anonyme@example.org")
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(action("message", dossier), {"message-body": "Il manque une photo."})
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["anonyme@example.org"]
    assert "Il manque une photo." in sent.body
    assert f"/suivi/{dossier.tracking_code}/" in sent.body


def test_an_empty_message_or_a_disguised_executable_is_refused_and_the_text_kept(
        client, agent, dossier):
    client.force_login(agent)
    response = client.post(action("message", dossier), {"message-body": "  "}, follow=True)
    assert "Écrivez votre message." in text(response)
    response = client.post(action("message", dossier),
                           {"message-body": "Voici le formulaire.",
                            "message-attachment": disguised_exe()}, follow=True)
    content = text(response)
    assert "Le fichier est de type" in content and "Voici le formulaire." in content
    assert not DossierMessage.objects.exists()


# --- Private annotations -------------------------------------------------------------------


def test_annotations_stay_between_agents(client, agent, resident, dossier):
    client.force_login(agent)
    client.post(action("annotation", dossier),
                {"annotation-body": "Le demandeur a déjà eu l'aide en 2025."})
    assert DossierAnnotation.objects.get(dossier=dossier).author == agent
    assert "déjà eu l'aide en 2025" in text(client.get(page(dossier, "notes-et-avis")))
    event = DossierEvent.objects.get(dossier=dossier, kind="annotation")
    assert event.public is False
    client.force_login(resident)
    for url in (reverse("procedures:dossier", args=[dossier.pk]),
                reverse("procedures:tracking", args=[dossier.tracking_code])):
        content = text(client.get(url))
        assert "2025" not in content and "Annotation" not in content
    assert client.post(action("annotation", dossier),
                       {"annotation-body": "Je lis tout"}).status_code == 403


def test_an_empty_annotation_is_refused(client, agent, dossier):
    client.force_login(agent)
    response = client.post(action("annotation", dossier), {"annotation-body": ""}, follow=True)
    assert "Écrivez l'annotation." in text(response)
    assert not DossierAnnotation.objects.exists()


# --- Expert opinions ------------------------------------------------------------------------


def test_an_opinion_is_asked_and_given_by_another_service(client, agent, expert, resident,
                                                          dossier, other_service):
    client.force_login(expert)
    assert client.get(page(dossier)).status_code == 404  # not consulted yet
    client.force_login(agent)
    client.post(action("opinion-request", dossier),
                {"opinion-service": other_service.pk,
                 "opinion-question": "La clôture respecte-t-elle le PLU ?"})
    opinion = OpinionRequest.objects.get(dossier=dossier)
    assert opinion.service == other_service and opinion.requested_by == agent
    assert Notification.objects.filter(recipient=expert,
                                       kind=processing.KIND_OPINION_REQUESTED).exists()

    client.force_login(expert)
    response = client.get(page(dossier))
    assert response.status_code == 200
    content = text(response)
    # The request's tab sends the consulted expert to the opinion's; no thread for them.
    assert page(dossier, "notes-et-avis") in content and page(dossier, "messagerie") not in content
    assert client.get(page(dossier, "messagerie")).status_code == 404
    content = text(client.get(page(dossier, "notes-et-avis")))
    assert "La clôture respecte-t-elle le PLU ?" in content
    assert "Annotations privées" not in content  # read and answer, nothing else
    assert client.post(action("message", dossier), {"message-body": "x"}).status_code == 403
    assert client.post(action("assign", dossier), {"action": "take"}).status_code == 403
    response = client.post(action("opinion-answer", dossier, opinion.pk),
                           {f"opinion-{opinion.pk}-answer": "Favorable, hauteur conforme.",
                            f"opinion-{opinion.pk}-attachment": a_pdf("plan.pdf")})
    assert response.status_code == 302
    opinion.refresh_from_db()
    assert opinion.answer == "Favorable, hauteur conforme." and opinion.answered_by == expert
    stored = opinion.answer_files.get()
    assert Notification.objects.filter(recipient=agent,
                                       kind=processing.KIND_OPINION_GIVEN).exists()

    client.force_login(agent)
    content = text(client.get(page(dossier, "notes-et-avis")))
    assert "Favorable, hauteur conforme." in content and "plan.pdf" in content
    assert client.get(reverse("files:download", args=[stored.pk])).status_code == 200
    assert set(DossierEvent.objects.filter(dossier=dossier, kind__startswith="opinion")
               .values_list("public", flat=True)) == {False}
    # The applicant sees nothing of it, and cannot fetch the expert's file.
    client.force_login(resident)
    content = text(client.get(reverse("procedures:dossier", args=[dossier.pk])))
    assert "PLU" not in content and "Favorable" not in content
    assert client.get(reverse("files:download", args=[stored.pk])).status_code == 404


def test_an_opinion_cannot_be_asked_of_the_owning_service_nor_answered_twice(
        agent, expert, dossier, service, other_service):
    with pytest.raises(processing.ProcessingRefused, match="propre avis"):
        processing.request_opinion(actor=agent, dossier=dossier, service=service,
                                   question="?")
    opinion = processing.request_opinion(actor=agent, dossier=dossier, service=other_service,
                                         question="Avis ?")
    processing.answer_opinion(actor=expert, opinion=opinion, answer="Oui.")
    with pytest.raises(processing.ProcessingRefused, match="déjà été donné"):
        processing.answer_opinion(actor=expert, opinion=opinion, answer="Non.")


def test_an_opinion_of_another_organisations_service_is_refused(agent, dossier,
                                                               foreign_agent):
    foreign_service = foreign_agent.memberships.get().service
    with pytest.raises(processing.ProcessingRefused, match="service de la collectivité"):
        processing.request_opinion(actor=agent, dossier=dossier, service=foreign_service,
                                   question="Avis ?")


def test_an_empty_opinion_request_keeps_the_chosen_service(client, agent, dossier,
                                                          other_service):
    client.force_login(agent)
    response = client.post(action("opinion-request", dossier),
                           {"opinion-service": other_service.pk, "opinion-question": ""},
                           follow=True)
    content = text(response)
    assert "Écrivez la question posée au service." in content
    assert f'value="{other_service.pk}" selected' in content
    assert not OpinionRequest.objects.exists()


# --- Who may act -------------------------------------------------------------------------------


@pytest.mark.parametrize("name, data", [
    ("assign", {"action": "take"}),
    ("labels", {}),
    ("message", {"message-body": "Bonjour"}),
    ("annotation", {"annotation-body": "Note"}),
    ("opinion-request", {"opinion-question": "?"}),
])
def test_outsiders_cannot_act(client, name, data, dossier, resident, other_resident,
                              foreign_agent, other_service):
    outsider = agent_factory(service=other_service, email="autre@valmont.example")
    client.force_login(outsider)
    assert client.post(action(name, dossier), data).status_code == 404
    client.force_login(resident)
    assert client.post(action(name, dossier), data).status_code == 403
    client.force_login(foreign_agent)
    assert client.post(action(name, dossier), data,
                       HTTP_HOST="autre.localhost").status_code == 404
    assert not DossierMessage.objects.exists() and not DossierAnnotation.objects.exists()
    dossier.refresh_from_db()
    assert dossier.assigned_to is None


def test_a_director_reads_but_does_not_process_another_services_dossier(
        client, dossier, other_service):
    director = agent_factory(service=other_service, role=Role.DIRECTOR,
                             email="dgs@valmont.example")
    client.force_login(director)
    response = client.get(page(dossier))
    assert response.status_code == 200
    assert page(dossier, "notes-et-avis") not in text(response)
    for tab in ("messagerie", "notes-et-avis"):  # nothing of the processing for them
        assert client.get(page(dossier, tab)).status_code == 404
    assert client.post(action("annotation", dossier),
                       {"annotation-body": "Note"}).status_code == 403


# --- Cost of the page ---------------------------------------------------------------------------


def _fill(dossier, agent, other_service, n):
    for i in range(n):
        processing.send_agent_message(actor=agent, dossier=dossier, body=f"Message {i}",
                                      attachment=a_pdf(f"m{i}.pdf"))
        processing.annotate(actor=agent, dossier=dossier, body=f"Note {i}")
    opinion = processing.request_opinion(actor=agent, dossier=dossier, service=other_service,
                                         question="Avis ?")
    return opinion


def _count(client, url, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("tab", ["", "messagerie", "notes-et-avis", "historique"])
def test_each_tab_of_the_dossier_page_costs_the_same_with_more_processing(
        client, agent, procedure, resident, other_service, tab, django_assert_max_num_queries):
    """Whatever the number of messages, annotations, opinions and events, each tab runs the
    same queries, at most 15 (issue 4's target), the audit of the read included."""
    small = file_dossier(procedure, resident, number="2026-000410")
    large = file_dossier(procedure, resident, number="2026-000411")
    _fill(small, agent, other_service, 1)
    _fill(large, agent, other_service, 6)
    client.force_login(agent)
    client.get(page(small, tab))  # warm up the session
    few = _count(client, page(small, tab), django_assert_max_num_queries)
    many = _count(client, page(large, tab), django_assert_max_num_queries)
    assert many == few
    with django_assert_max_num_queries(15):
        client.get(page(large, tab))
