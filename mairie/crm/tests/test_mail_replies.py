"""Answering a mail (issue 5): the agent's reply leaves by SMTP — received here by a real SMTP
server (aiosmtpd) the test starts — from the service address, with the headers that thread it
in the resident's mail client; it is logged on the record; the resident's answer to it joins
the same conversation even from another address; a refused send keeps the typed text."""

import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory
from mairie.crm import services
from mairie.crm.models import Interaction, MailMessage

from .mail_helpers import deliver, mail_with_pdf, make_mailbox, simple_mail

pytestmark = pytest.mark.django_db


class Inbox:
    """An aiosmtpd handler keeping what it receives."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self):
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    yield inbox
    controller.stop()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def mailbox(service):
    return make_mailbox(service, display_name="Mairie de Valmont — État civil")


@pytest.fixture
def lefevre(organisation, agent):
    return services.create_record(actor=agent, organisation=organisation, values={
        "first_name": "Hélène", "last_name": "Lefèvre", "email": "helene.lefevre@example.org"})


def test_a_reply_leaves_by_smtp_threaded_and_the_answer_comes_back_in_the_thread(
        client, agent, mailbox, lefevre, smtp_server):
    deliver(mail_with_pdf())
    received = MailMessage.objects.get()
    client.force_login(agent)
    response = client.post(reverse("crm:mail-reply", args=[received.pk]), {
        "body": "Bonjour Madame,\nVotre extrait partira lundi.\nL'état civil"})
    assert response.status_code == 302

    [envelope] = smtp_server.envelopes
    assert envelope.rcpt_tos == ["helene.lefevre@example.org"]
    [sent_mail] = smtp_server.messages()
    sent = MailMessage.objects.get(direction="out")
    assert sent_mail["From"].addresses[0].addr_spec == "etat-civil@valmont.example"
    assert sent_mail["From"].addresses[0].display_name == "Mairie de Valmont — État civil"
    # Django folds the encoded subject onto a continuation line; clients unfold and trim it.
    assert str(sent_mail["Subject"]).strip() == (
        "Re: Demande d'acte de naissance — réponse souhaitée")
    assert sent_mail["Message-ID"] == sent.message_id
    assert sent.message_id.endswith("@valmont.example>")
    assert sent_mail["In-Reply-To"] == "<demande-1@example.org>"
    assert "<demande-1@example.org>" in sent_mail["References"].split()
    text = sent_mail.get_body(preferencelist=("plain",)).get_content()
    assert "Votre extrait partira lundi." in text
    assert "> Je souhaite un extrait d'acte de naissance" in text  # the mail, quoted

    # On the record: the reply as an outgoing contact, the mail marked as answered.
    contacts = {i.agent_id: i for i in Interaction.objects.filter(record=lefevre)}
    assert contacts[agent.pk].outcome == "answered" and contacts[agent.pk].channel == "email"
    assert contacts[None].outcome == "answered"
    assert sent.record == lefevre and sent.thread_root == received
    assert AuditEvent.objects.filter(action="crm.mail_replied", actor=agent).exists()

    # She answers from her other address: the answer joins the conversation and her record.
    deliver(simple_mail(sender="Hélène L. <helene.perso@example.net>",
                        subject="Re: Demande d'acte de naissance", body="Merci beaucoup !",
                        message_id="<merci@example.net>",
                        headers=f"In-Reply-To: {sent.message_id}\n"
                                f"References: <demande-1@example.org> {sent.message_id}"))
    answer = MailMessage.objects.get(message_id="<merci@example.net>")
    assert answer.record == lefevre and answer.thread_root == received
    assert answer.unmatched_reason == "" and answer.sender_name == "Hélène L."  # raw UTF-8
    page = client.get(reverse("crm:mail-message", args=[answer.pk])).content.decode()
    assert page.index("Votre extrait partira lundi.") < page.index("Merci beaucoup !")
    record_page = client.get(reverse("crm:record", args=[lefevre.pk])).content.decode()
    assert record_page.count("Lire le courriel et répondre") == 2
    assert "Lire la réponse envoyée" in record_page


def test_an_empty_reply_or_a_refusing_server_keeps_the_text_and_sends_nothing(
        client, agent, mailbox, lefevre, smtp_server, settings):
    deliver(mail_with_pdf())
    received = MailMessage.objects.get()
    client.force_login(agent)
    url = reverse("crm:mail-reply", args=[received.pk])
    response = client.post(url, {"body": "   "})
    assert response.status_code == 200 and "error-summary" in response.content.decode()
    settings.EMAIL_PORT = free_port()  # nobody listens there
    response = client.post(url, {"body": "Votre extrait partira lundi."})
    page = response.content.decode()
    assert response.status_code == 200 and "pas partie" in page
    assert "Votre extrait partira lundi." in page
    assert smtp_server.envelopes == []
    assert not MailMessage.objects.filter(direction="out").exists()
    assert not Interaction.objects.filter(agent=agent).exists()


def test_an_agent_of_another_service_cannot_reply(client, mailbox, lefevre, other_service,
                                                 smtp_server):
    deliver(mail_with_pdf())
    received = MailMessage.objects.get()
    client.force_login(agent_factory(service=other_service, email="urba@valmont.example"))
    response = client.post(reverse("crm:mail-reply", args=[received.pk]), {"body": "Bonjour"})
    assert response.status_code == 404 and smtp_server.envelopes == []


def test_a_reply_to_an_unmatched_mail_follows_it_onto_the_record(client, agent, mailbox,
                                                               organisation, smtp_server):
    deliver(simple_mail())
    received = MailMessage.objects.get()
    client.force_login(agent)
    client.post(reverse("crm:mail-reply", args=[received.pk]),
                {"body": "Pouvez-vous nous donner votre nom complet ?"})
    assert len(smtp_server.envelopes) == 1
    sent = MailMessage.objects.get(direction="out")
    assert sent.record is None
    record = services.create_record(actor=agent, organisation=organisation, values={
        "first_name": "Jean", "last_name": "Dupont", "phone": "0600000000"})
    client.post(reverse("crm:mail-attach", args=[received.pk]), {"record": str(record.pk)})
    sent.refresh_from_db()
    assert sent.record == record
    assert set(Interaction.objects.filter(record=record).values_list("outcome", flat=True)) \
        == {"follow_up", "answered"}
