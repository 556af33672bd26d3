"""Inbound e-mail (issue 5, multi-channel intake), as agents and operators notice it: a mail
sent to a service address lands on the sender's record, whole (accented headers, text,
PDF, the original message); what cannot be matched — unknown, ambiguous or missing sender —
waits in the service's queue, labelled, where an agent attaches it or creates the record;
the MTA is told clearly what was refused (sysexits codes); duplicates are filed once; and no
other service nor collectivité reads or acts on the mail."""

import gzip
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management.base import CommandError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import ServiceFactory, UserFactory, agent_factory
from mairie.crm import queries, services
from mairie.crm.models import Interaction, MailMessage, ResidentRecord, ServiceMailbox

from .mail_helpers import EXE, deliver, mail_with_pdf, make_mailbox, simple_mail

pytestmark = pytest.mark.django_db


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


@pytest.fixture
def urbanisme_agent(other_service):
    return agent_factory(service=other_service, email="urba@valmont.example")


def only_message() -> MailMessage:
    return MailMessage.objects.get()


# --- A mail from a known resident ------------------------------------------------------------

def test_a_residents_mail_lands_on_their_record_whole(client, agent, mailbox, lefevre):
    raw = mail_with_pdf()
    output = deliver(raw, "Etat-Civil@valmont.example")
    message = only_message()
    assert "rattaché à une fiche" in output
    assert message.subject == "Demande d'acte de naissance — réponse souhaitée"
    assert message.sender_name == "Hélène Lefèvre"
    assert message.sender_address == "helene.lefevre@example.org"  # case folded
    assert "extrait d'acte de naissance pour mon fils. Merci — Hélène" in message.body_text
    assert message.record == lefevre and message.service == mailbox.service
    assert message.problems == []
    # The PDF, checked by content by the files service, under its accented name.
    attachment = message.attachments.get()
    assert attachment.filename == "pièce d'identité.pdf" and attachment.refusal == ""
    assert attachment.file.content_type == "application/pdf"
    # Nothing lost: the original bytes are kept.
    with message.raw.file.open("rb") as kept:
        assert gzip.decompress(kept.read()) == raw
    interaction = Interaction.objects.get(record=lefevre)
    assert interaction.channel == "email" and interaction.service == mailbox.service
    assert interaction.outcome == Interaction.Outcome.FOLLOW_UP
    assert interaction.subject == message.subject and message.interaction == interaction
    assert AuditEvent.objects.filter(action="crm.mail_received",
                                     object_id=str(message.pk)).exists()

    client.force_login(agent)
    record_page = client.get(reverse("crm:record", args=[lefevre.pk])).content.decode()
    assert "Demande d&#x27;acte de naissance — réponse souhaitée" in record_page
    assert reverse("crm:mail-message", args=[message.pk]) in record_page
    page = client.get(reverse("crm:mail-message", args=[message.pk])).content.decode()
    assert "pièce d&#x27;identité.pdf" in page and "<script>" not in page
    assert reverse("files:download", args=[attachment.file.pk]) in page
    download = client.get(reverse("files:download", args=[attachment.file.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) \
        .startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="crm.mail_viewed", actor=agent).exists()


def test_the_address_of_the_residents_account_finds_their_record(mailbox, organisation, agent):
    account = UserFactory(organisation=organisation, email="jean.dupont@example.net")
    record = services.record_for_account(account)
    ResidentRecord.objects.filter(pk=record.pk).update(email="")
    deliver(simple_mail(sender="JEAN.DUPONT@EXAMPLE.NET"))
    assert only_message().record == record


def test_an_html_only_mail_is_read_as_text_never_rendered(client, agent, mailbox):
    deliver(simple_mail(
        content_type='text/html; charset="utf-8"',
        body='<html><head><style>p{color:red}</style></head><body><p>Bonjour,</p>'
             '<p>Voir <a href="https://example.net/plan">le plan</a> &amp; merci.</p>'
             '<script>document.cookie</script><img src=x onerror=alert(1)></body></html>'))
    message = only_message()
    assert message.body_from_html
    assert message.body_text == "Bonjour,\n\nVoir le plan (https://example.net/plan) & merci."
    client.force_login(agent)
    page = client.get(reverse("crm:mail-message", args=[message.pk])).content.decode()
    assert "onerror" not in page and "document.cookie" not in page


def test_a_sender_with_several_records_is_left_to_an_agent_to_choose(client, agent, mailbox,
                                                                      organisation):
    for first in ("Paul", "Paule"):
        services.create_record(actor=agent, organisation=organisation, values={
            "first_name": first, "last_name": "Dupont", "email": "jean.dupont@example.net"})
    deliver(simple_mail())
    message = only_message()
    assert message.record is None and message.unmatched_reason == "ambiguous"
    client.force_login(agent)
    page = client.get(reverse("crm:mail-message", args=[message.pk])).content.decode()
    assert "Plusieurs fiches ont cette adresse" in page
    assert "Rattacher à Paul DUPONT" in page and "Rattacher à Paule DUPONT" in page


# --- What cannot be matched, or delivered ----------------------------------------------------

@pytest.mark.parametrize("sender", [None, "", "pas une adresse", "<@>"])
def test_a_mail_without_a_readable_sender_waits_in_the_queue_labelled(client, agent, mailbox,
                                                                     sender):
    raw = mail_with_pdf(sender=sender)
    output = deliver(raw)  # no envelope recipient: the To header names the service address
    message = only_message()
    assert "à rattacher (Expéditeur absent ou illisible)" in output
    assert message.unmatched_reason == "no_sender" and message.sender_address == ""
    assert "acte de naissance pour mon fils" in message.body_text
    assert message.attachments.get().file is not None
    with message.raw.file.open("rb") as kept:
        assert gzip.decompress(kept.read()) == raw
    client.force_login(agent)
    queue = client.get(reverse("crm:mail-queue")).content.decode()
    assert "Expéditeur absent ou illisible" in queue
    assert reverse("crm:mail-message", args=[message.pk]) in queue
    page = client.get(reverse("crm:mail-message", args=[message.pk])).content.decode()
    assert "il n'y a personne à qui répondre" in page and 'name="body"' not in page
    # Refused by the service too, should someone post anyway.
    response = client.post(reverse("crm:mail-reply", args=[message.pk]), {"body": "Bonjour"})
    assert response.status_code == 200 and MailMessage.objects.count() == 1


def test_an_unknown_or_inactive_service_address_is_bounced_ex_nouser(mailbox):
    with pytest.raises(CommandError) as refused:
        deliver(simple_mail(to="inconnu@valmont.example"), "inconnu@valmont.example")
    assert refused.value.returncode == 67 and "inconnu@valmont.example" in str(refused.value)
    ServiceMailbox.objects.filter(pk=mailbox.pk).update(active=False)
    with pytest.raises(CommandError) as refused:
        deliver(simple_mail(), "etat-civil@valmont.example")
    assert refused.value.returncode == 67
    assert not MailMessage.objects.exists()


def test_the_envelope_recipient_wins_over_the_headers(service, other_service, mailbox):
    make_mailbox(other_service, "urbanisme@valmont.example")
    deliver(simple_mail(to="etat-civil@valmont.example"), "urbanisme@valmont.example")
    assert only_message().service == other_service


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"ceci n'est pas un courriel\r\n"])
def test_what_is_not_an_email_is_refused_ex_dataerr(mailbox, raw):
    with pytest.raises(CommandError) as refused:
        deliver(raw, "etat-civil@valmont.example")
    assert refused.value.returncode == 65 and not MailMessage.objects.exists()


def test_a_mail_delivered_twice_is_filed_once(mailbox, lefevre):
    deliver(mail_with_pdf())
    assert "déjà remis" in deliver(mail_with_pdf())
    without_id = simple_mail(message_id=None)
    deliver(without_id)
    assert "déjà remis" in deliver(without_id)
    assert MailMessage.objects.count() == 2
    assert Interaction.objects.filter(record=lefevre).count() == 1


def test_a_refused_attachment_is_noted_and_the_mail_still_delivered(client, agent, mailbox):
    import base64

    exe = base64.encodebytes(EXE).decode()
    raw = simple_mail(
        content_type='multipart/mixed; boundary="b"',
        body="--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVoici le formulaire.\r\n"
             "--b\r\nContent-Type: application/octet-stream\r\n"
             'Content-Disposition: attachment; filename="formulaire.pdf.exe"\r\n'
             f"Content-Transfer-Encoding: base64\r\n\r\n{exe}--b--\r\n")
    deliver(raw)
    message = only_message()
    attachment = message.attachments.get()
    assert attachment.file is None and attachment.filename == "formulaire.pdf.exe"
    assert "EXE" in attachment.refusal
    assert message.body_text == "Voici le formulaire."
    client.force_login(agent)
    page = client.get(reverse("crm:mail-message", args=[message.pk])).content.decode()
    assert "formulaire.pdf.exe" in page and "refusée" in page


def test_an_unreadable_date_is_said_not_hidden(mailbox):
    deliver(simple_mail(headers="X-Mailer: vieux").replace(
        b"Date: Wed, 04 Mar 2026 09:00:00 +0100", b"Date: le mardi vers midi"))
    message = only_message()
    assert message.sent_at is None
    assert message.problems == ["Date d'envoi illisible : « le mardi vers midi »."]


# --- Attaching an unmatched mail --------------------------------------------------------------

def test_an_agent_attaches_a_mail_to_a_record_found_by_search(client, agent, mailbox,
                                                             organisation):
    record = services.create_record(actor=agent, organisation=organisation, values={
        "first_name": "Jean", "last_name": "Dupont", "phone": "0612345678"})
    deliver(simple_mail())
    message = only_message()
    assert message.unmatched_reason == "unknown"
    client.force_login(agent)
    url = reverse("crm:mail-message", args=[message.pk])
    page = client.get(url, {"q": "dupond"}).content.decode()
    assert "Rattacher à Jean DUPONT" in page and "Noter jean.dupont@example.net" in page
    response = client.post(reverse("crm:mail-attach", args=[message.pk]),
                           {"record": str(record.pk), "remember_address": "on"})
    assert response.status_code == 302 and response["Location"] == url
    message.refresh_from_db()
    record.refresh_from_db()
    assert message.record == record and message.unmatched_reason == ""
    assert message.agent == agent and record.email == "jean.dupont@example.net"
    assert Interaction.objects.get(record=record).channel == "email"
    assert reverse("crm:mail-message", args=[message.pk]) not in client.get(
        reverse("crm:mail-queue")).content.decode()
    assert AuditEvent.objects.filter(action="crm.mail_attached", actor=agent).exists()
    # The next mail from that address finds the record by itself.
    deliver(simple_mail(message_id="<horaires-2@example.net>"))
    assert MailMessage.objects.get(message_id="<horaires-2@example.net>").record == record
    # Attaching twice is refused with a message, on the page (200).
    again = client.post(reverse("crm:mail-attach", args=[message.pk]), {"record": str(record.pk)})
    assert again.status_code == 200 and "déjà rattaché" in again.content.decode()


def test_an_agent_creates_the_record_from_the_mail(client, agent, mailbox):
    deliver(simple_mail())
    message = only_message()
    client.force_login(agent)
    page = client.get(reverse("crm:mail-message", args=[message.pk])).content.decode()
    assert 'value="Jean"' in page and 'value="Dupont"' in page
    response = client.post(reverse("crm:mail-new-record", args=[message.pk]),
                           {"first_name": "Jean-Marc", "last_name": "", "email": ""})
    assert response.status_code == 200 and 'value="Jean-Marc"' in response.content.decode()
    assert not ResidentRecord.objects.exists()
    response = client.post(reverse("crm:mail-new-record", args=[message.pk]),
                           {"first_name": "Jean-Marc", "last_name": "Dupont", "email": ""})
    record = ResidentRecord.objects.get()
    assert response.status_code == 302
    assert record.email == "jean.dupont@example.net" and record.created_by == agent
    message.refresh_from_db()
    assert message.record == record and message.interaction.record == record


# --- Who reads and acts on the mail -----------------------------------------------------------

def test_another_service_or_collectivite_neither_lists_reads_nor_acts(
        client, organisation, agent, administrator, mailbox, urbanisme_agent, foreign_agent,
        resident, lefevre):
    deliver(simple_mail())
    message = only_message()
    for outsider in (urbanisme_agent, foreign_agent, resident):
        assert not queries.mail_visible_to(outsider, organisation).exists()
        assert not queries.unmatched_mail_for(outsider, organisation).exists()
        with pytest.raises(Http404):
            queries.mail_message_for(outsider, organisation, message.pk)
    client.force_login(urbanisme_agent)
    queue = client.get(reverse("crm:mail-queue"))
    assert queue.status_code == 200 and "Horaires de la mairie" not in queue.content.decode()
    for name, data in (("crm:mail-message", None),
                       ("crm:mail-attach", {"record": str(lefevre.pk)}),
                       ("crm:mail-reply", {"body": "Bonjour"}),
                       ("crm:mail-new-record", {"last_name": "Pirate"})):
        url = reverse(name, args=[message.pk])
        response = client.get(url) if data is None else client.post(url, data)
        assert response.status_code == 404, name
    client.force_login(resident)
    assert client.get(reverse("crm:mail-message", args=[message.pk])).status_code == 403
    client.force_login(foreign_agent)
    response = client.get(reverse("crm:mail-message", args=[message.pk]))
    assert response.status_code in (302, 403, 404)
    message.refresh_from_db()
    assert message.record is None and MailMessage.objects.count() == 1
    assert not ResidentRecord.objects.filter(last_name="Pirate").exists()
    assert not AuditEvent.objects.filter(action="crm.mail_viewed").exists()
    # The service's agents and the administrators do read it.
    assert queries.unmatched_mail_for(agent, organisation).get() == message
    assert queries.mail_message_for(administrator, organisation, message.pk) == message


def test_mail_of_another_collectivite_never_threads_nor_matches_here(
        organisation, other_organisation, foreign_agent, agent, mailbox, lefevre):
    deliver(mail_with_pdf())
    ours = only_message()
    foreign_service = ServiceFactory(organisation=other_organisation, slug="etat-civil")
    make_mailbox(foreign_service, "etat-civil@ailleurs.example")
    deliver(mail_with_pdf(to="etat-civil@ailleurs.example", message_id="<autre@example.org>",
                          extra_headers=f"In-Reply-To: {ours.message_id}\n"))
    theirs = MailMessage.objects.get(organisation=other_organisation)
    assert theirs.record is None and theirs.thread_root is None
    assert theirs.unmatched_reason == "unknown"
    assert queries.mail_visible_to(foreign_agent, other_organisation).get() == theirs


def test_only_administrators_manage_the_service_addresses(client, administrator, agent,
                                                          service, other_service,
                                                          foreign_agent):
    client.force_login(agent)
    assert client.get(reverse("crm:mailboxes")).status_code == 403
    client.force_login(administrator)
    response = client.post(reverse("crm:mailboxes"), {
        "address": "Urbanisme@Valmont.example", "service": str(other_service.pk),
        "display_name": "Mairie — Urbanisme", "active": "on"})
    assert response.status_code == 302
    mailbox = ServiceMailbox.objects.get()
    assert mailbox.address == "urbanisme@valmont.example" and mailbox.service == other_service
    listing = client.get(reverse("crm:mailboxes")).content.decode()
    assert "urbanisme@valmont.example" in listing and "Mairie — Urbanisme" in listing
    taken = client.post(reverse("crm:mailboxes"), {
        "address": "urbanisme@valmont.example", "service": str(service.pk)})
    assert taken.status_code == 200 and ServiceMailbox.objects.count() == 1
    assert "error-summary" in taken.content.decode()
    response = client.post(reverse("crm:mailbox", args=[mailbox.pk]), {
        "address": "urbanisme@valmont.example", "service": str(other_service.pk),
        "display_name": "Mairie — Urbanisme"})  # "active" unchecked
    mailbox.refresh_from_db()
    assert response.status_code == 302 and not mailbox.active
    assert AuditEvent.objects.filter(action="crm.mailbox_updated").exists()
    client.force_login(foreign_agent)
    assert client.get(reverse("crm:mailbox", args=[mailbox.pk]),
                      HTTP_HOST="autre.localhost").status_code == 404


def test_the_queue_costs_a_bounded_number_of_queries(client, agent, mailbox):
    def queue_queries():
        with CaptureQueriesContext(connection) as run:
            response = client.get(reverse("crm:mail-queue"))
        assert response.status_code == 200
        return len(run), response.content.decode()

    client.force_login(agent)
    for n in range(3):
        deliver(simple_mail(message_id=f"<q{n}@example.net>", subject=f"Question {n}"))
    queue_queries()  # the host → organisation lookup is cached after the first request
    few, _ = queue_queries()
    for n in range(3, 60):
        deliver(simple_mail(message_id=f"<q{n}@example.net>", subject=f"Question {n}"))
    many, page = queue_queries()
    assert many == few and many <= 12
    assert page.count("Question ") == 50 and "Page 1 sur 2" in page


# --- The real pipe command --------------------------------------------------------------------

def _database_url() -> str:
    settings_dict = connection.settings_dict
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{settings_dict['NAME']}"
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return (f"postgres://{auth}{settings_dict.get('HOST') or 'localhost'}{port}/"
            f"{settings_dict['NAME']}")


@pytest.mark.django_db(transaction=True)
def test_the_mta_pipes_mail_into_python_m_mairie_inbound_mail(settings, tmp_path, service,
                                                             agent):
    make_mailbox(service)
    record = services.create_record(actor=agent, organisation=service.organisation, values={
        "first_name": "Hélène", "last_name": "Lefèvre", "email": "helene.lefevre@example.org"})
    env = {**{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}},
           "DATABASE_URL": _database_url(), "MAIRIE_TESTING": "1",
           "MEDIA_ROOT": str(settings.MEDIA_ROOT), "ORIGINAL_RECIPIENT":
           "etat-civil@valmont.example"}
    root = Path(__file__).resolve().parents[3]

    def pipe(raw: bytes, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "mairie", "inbound-mail", *args],
                              input=raw, env=env, cwd=root, capture_output=True, timeout=120)

    delivered = pipe(mail_with_pdf())
    assert delivered.returncode == 0, delivered.stderr.decode()
    message = MailMessage.objects.get()
    assert message.record == record and message.attachments.get().file is not None
    unknown = pipe(simple_mail(), "--recipient", "personne@valmont.example")
    assert unknown.returncode == 67 and "personne@valmont.example" in unknown.stderr.decode()
    garbage = pipe(b"rien de lisible\n")
    assert garbage.returncode == 65
    assert MailMessage.objects.count() == 1


def test_the_residents_mails_are_in_their_data_copy_and_erased_on_request(organisation,
                                                                          mailbox):
    from mairie.core.files.models import StoredFile
    from mairie.core.privacy.registry import activities

    account = UserFactory(organisation=organisation, email="helene.lefevre@example.org")
    services.record_for_account(account)
    deliver(mail_with_pdf())
    activity = next(a for a in activities() if a.key == "crm.mail")
    [row] = activity.export(account, organisation)
    assert row["subject"] == "Demande d'acte de naissance — réponse souhaitée"
    assert row["attachments"] == ["pièce d'identité.pdf"] and "mon fils" in row["text"]
    assert StoredFile.objects.filter(purpose__startswith="crm-mail").count() == 2
    outcome = activity.erase(account, organisation)
    message = only_message()
    assert outcome["erased"] and message.body_text == "" and message.raw is None
    assert message.sender_address == "" and message.attachments.get().file is None
    assert not StoredFile.objects.filter(purpose__startswith="crm-mail").exists()
