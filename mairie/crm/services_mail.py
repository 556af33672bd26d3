"""Writing the service mail (decision 0467): delivering what the MTA hands over
(`deliver_inbound`, called by `python -m mairie inbound-mail`), attaching an unmatched mail to
a record or creating the record from it, answering by SMTP from the service address so that
the answer threads in the resident's mail client, and the administrators' list of service
addresses. Every write is audited; the raw message is kept as a stored file."""

from __future__ import annotations

import gzip
import logging
import smtplib
from dataclasses import dataclass
from email.utils import formataddr, make_msgid

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mairie.core.audit.services import record_event
from mairie.core.files.models import StoredFile

from . import rules
from .mail_parsing import ParsedMail, Unparsable, parse_message
from .models import Channel, Interaction, ResidentRecord
from .models_mail import MailAttachment, MailMessage, ServiceMailbox

logger = logging.getLogger(__name__)

RAW_PURPOSE = "crm-mail-raw"
ATTACHMENT_PURPOSE = "crm-mail-attachment"
ATTACHMENT_TYPES = {
    "application/pdf", "image/jpeg", "image/png", "image/webp", "image/gif", "image/heic",
    "image/tiff", "text/plain", "text/csv",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/msword", "application/vnd.ms-excel",
}
RECEIVED_KIND = "crm.mail_received"
QUOTE_LIMIT = 5000

__all__ = ["Unparsable"]


class UnknownRecipient(Exception):
    """No active service address among the recipients (the MTA bounces it: EX_NOUSER)."""


class TemporaryFailure(Exception):
    """Cannot be delivered now, may be later (the MTA keeps it and retries: EX_TEMPFAIL)."""


@dataclass
class Delivery:
    message: MailMessage
    duplicate: bool = False


def register() -> None:
    from mairie.core.files.purposes import register_purpose
    from mairie.core.notifications.kinds import register_kind
    from mairie.core.notifications.models import Frequency

    register_purpose(RAW_PURPOSE, allowed={"application/gzip"}, max_bytes=50 * 1024 * 1024,
                     label=gettext_lazy("Courriel d'origine (compressé)"),
                     can_read=_may_read_mail_file)
    register_purpose(ATTACHMENT_PURPOSE, allowed=ATTACHMENT_TYPES, max_bytes=15 * 1024 * 1024,
                     label=gettext_lazy("Pièce jointe d'un courriel reçu"),
                     can_read=_may_read_mail_file)
    register_kind(RECEIVED_KIND, gettext_lazy("Courriels reçus par mon service"),
                  default_frequency=Frequency.DAILY, for_residents=False,
                  description=gettext_lazy("Un courriel arrive sur l'adresse d'un de vos "
                                           "services."))


def _may_read_mail_file(user, stored) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    messages = MailMessage.objects.filter(organisation_id=stored.organisation_id).filter(
        Q(raw=stored) | Q(attachments__file=stored))
    services = rules.mail_services_of(user, stored.organisation)
    if services is not None:
        messages = messages.filter(service_id__in=services)
    return messages.exists()


# --- Intake -----------------------------------------------------------------------------------

def mailbox_for(addresses: list[str]) -> ServiceMailbox | None:
    """The first active service address among `addresses` (envelope recipient first)."""
    wanted = [address.strip().lower() for address in addresses if address and "@" in address]
    if not wanted:
        return None
    found = {m.address: m for m in ServiceMailbox.objects.filter(address__in=wanted, active=True)
             .select_related("service", "organisation")}
    return next((found[address] for address in wanted if address in found), None)


def deliver_inbound(*, raw: bytes, recipients: list[str] | None = None) -> Delivery:
    """File one message the MTA received for a service address. Raises `Unparsable`,
    `UnknownRecipient` or `TemporaryFailure`; a mail without a readable sender is delivered
    all the same, to the queue of mails to attach."""
    parsed = parse_message(raw)
    # The envelope recipient, when the MTA gives it, is the truth; the headers otherwise.
    mailbox = mailbox_for(recipients or [*parsed.delivered_to, *parsed.recipients])
    if mailbox is None:
        raise UnknownRecipient(", ".join(recipients or parsed.recipients) or "?")
    existing = _already_delivered(mailbox, parsed, raw)
    if existing is not None:
        return Delivery(existing, duplicate=True)
    organisation = mailbox.organisation
    raw_file, raw_problem = _store_raw(organisation, raw)
    try:
        with transaction.atomic():
            message = _file_message(mailbox, parsed, raw_file, raw_problem)
    except IntegrityError:
        # Delivered twice at the same instant (two MTA retries): the first one won.
        existing = _already_delivered(mailbox, parsed, raw)
        if existing is None:
            raise
        return Delivery(existing, duplicate=True)
    return Delivery(message)


def _already_delivered(mailbox, parsed: ParsedMail, raw: bytes) -> MailMessage | None:
    if parsed.message_id:
        return MailMessage.objects.filter(mailbox=mailbox, message_id=parsed.message_id).first()
    # Without an identifier, the very same bytes delivered again are the same mail.
    return MailMessage.objects.filter(mailbox=mailbox, message_id="",
                                      raw__sha256=_raw_digest(raw)).first()


def _compressed(raw: bytes) -> bytes:
    return gzip.compress(raw, mtime=0)  # same bytes, same file: the duplicate check uses it


def _raw_digest(raw: bytes) -> str:
    import hashlib

    return hashlib.sha256(_compressed(raw)).hexdigest()


def _store_raw(organisation, raw: bytes) -> tuple[StoredFile | None, str]:
    from mairie.core.files.services import store_upload

    upload = SimpleUploadedFile("message.eml.gz", _compressed(raw), "application/gzip")
    try:
        return store_upload(actor=None, organisation=organisation, uploaded_file=upload,
                            purpose=RAW_PURPOSE), ""
    except ValidationError as exc:
        if exc.code == "scanner_unavailable":
            raise TemporaryFailure(" ".join(exc.messages)) from exc
        return None, _("Message d'origine non conservé : %(reason)s") % {
            "reason": " ".join(exc.messages)}


def _store_attachment(organisation, attachment) -> tuple[StoredFile | None, str]:
    from mairie.core.files.services import store_upload

    upload = SimpleUploadedFile(attachment.filename, attachment.payload,
                                attachment.declared_type)
    try:
        return store_upload(actor=None, organisation=organisation, uploaded_file=upload,
                            purpose=ATTACHMENT_PURPOSE), ""
    except ValidationError as exc:
        if exc.code == "scanner_unavailable":
            raise TemporaryFailure(" ".join(exc.messages)) from exc
        return None, " ".join(exc.messages)[:300]


def _thread_parent(organisation, parsed: ParsedMail) -> MailMessage | None:
    """The message of ours (or of the conversation) this one answers, in this organisation
    only: a resident's answer to our reply joins the conversation whatever address it came
    from."""
    if not parsed.thread_ids:
        return None
    candidates = {m.message_id: m for m in MailMessage.objects.filter(
        organisation=organisation, message_id__in=parsed.thread_ids)
        .select_related("thread_root", "record")}
    return next((candidates[i] for i in parsed.thread_ids if i in candidates), None)


def records_with_address(organisation, address: str):
    """The live records of the organisation reached at `address` (theirs or their account's)."""
    return (ResidentRecord.objects.filter(organisation=organisation, merged_into__isnull=True)
            .filter(Q(email__iexact=address) | Q(account__email__iexact=address)).distinct())


def _file_message(mailbox, parsed: ParsedMail, raw_file, raw_problem: str) -> MailMessage:
    organisation = mailbox.organisation
    problems = list(parsed.problems) + ([raw_problem] if raw_problem else [])
    parent = _thread_parent(organisation, parsed)
    root = (parent.thread_root or parent) if parent is not None else None
    record, reason = None, ""
    thread_record = root.record if root is not None else None
    if thread_record is not None:  # a reply joins its conversation (or where it was merged)
        record = thread_record.merged_into if thread_record.merged_into_id else thread_record
    elif not parsed.sender_address:
        reason = MailMessage.Unmatched.NO_SENDER
    else:
        found = list(records_with_address(organisation, parsed.sender_address)[:2])
        if len(found) == 1:
            record = found[0]
        else:
            reason = MailMessage.Unmatched.AMBIGUOUS if found else MailMessage.Unmatched.UNKNOWN
    message = MailMessage.objects.create(
        organisation=organisation, mailbox=mailbox, service=mailbox.service,
        direction=MailMessage.Direction.INBOUND, message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to, references=" ".join(parsed.references),
        sender_address=parsed.sender_address, sender_name=parsed.sender_name,
        recipients=", ".join(parsed.recipients), subject=parsed.subject,
        body_text=parsed.body_text, body_from_html=parsed.body_from_html,
        sent_at=parsed.sent_at, raw=raw_file, problems=problems, record=record,
        unmatched_reason=reason, thread_root=root)
    refused = 0
    for attachment in parsed.attachments:
        stored, refusal = _store_attachment(organisation, attachment)
        refused += bool(refusal)
        MailAttachment.objects.create(
            organisation=organisation, message=message, file=stored,
            filename=attachment.filename[:255], declared_type=attachment.declared_type,
            size=len(attachment.payload), refusal=refusal)
    if record is not None:
        _log_as_interaction(message, record, agent=None)
    record_event(organisation=organisation, action="crm.mail_received", obj=message,
                 object_label=mailbox.address,
                 details={"mailbox": str(mailbox.pk), "service": str(mailbox.service_id),
                          "matched": record is not None, "unmatched": reason,
                          "threaded": root is not None,
                          "attachments": len(parsed.attachments), "refused": refused})
    _notify_service(message)
    return message


def _log_as_interaction(message: MailMessage, record: ResidentRecord, *, agent) -> Interaction:
    inbound = message.direction == MailMessage.Direction.INBOUND
    interaction = Interaction.objects.create(
        organisation_id=message.organisation_id, record=record, service=message.service,
        agent=agent if not inbound else None, channel=Channel.EMAIL,
        subject=(message.subject or _("(sans objet)"))[:200],
        outcome=Interaction.Outcome.FOLLOW_UP if inbound else Interaction.Outcome.ANSWERED,
        happened_at=message.received_at)
    message.interaction = interaction
    message.record = record
    message.save(update_fields=["interaction", "record", "updated_at"])
    return interaction


def _notify_service(message: MailMessage) -> None:
    from django.contrib.auth import get_user_model

    from mairie.core.notifications.services import notify

    members = get_user_model().objects.filter(
        memberships__service_id=message.service_id, is_active=True).distinct()
    title = (_("Courriel reçu par %(service)s") % {"service": message.service.name})[:200]
    notify(organisation=message.organisation, recipients=members, kind=RECEIVED_KIND,
           title=title, body=message.subject or _("(sans objet)"),
           url=reverse("crm:mail-message", args=[message.pk]), about=message)


# --- Attaching an unmatched mail ---------------------------------------------------------------

def _require_handler(actor, message: MailMessage) -> None:
    if not rules.may_handle_mail(actor, message):
        raise PermissionDenied


def conversation_of(message: MailMessage):
    root = message.conversation_root_id
    return MailMessage.objects.filter(organisation_id=message.organisation_id).filter(
        Q(pk=root) | Q(thread_root_id=root))


@transaction.atomic
def attach_mail(*, actor, message: MailMessage, record: ResidentRecord,
                remember_address: bool = False,
                request: HttpRequest | None = None) -> MailMessage:
    """Attach the mail — and the rest of its conversation not yet on a record — to `record`:
    each becomes an e-mail contact in its timeline. With `remember_address`, the sender's
    address goes on a record that has none, so that their next mails find it."""
    from . import services

    _require_handler(actor, message)
    if record.organisation_id != message.organisation_id:
        raise PermissionDenied
    if record.merged_into_id:
        raise ValidationError(_("Cette fiche a été fusionnée dans une autre : rattachez le "
                                "courriel à celle-ci."))
    current = MailMessage.objects.select_for_update().get(pk=message.pk)
    if current.record_id:
        raise ValidationError(_("Ce courriel est déjà rattaché à une fiche : rechargez la "
                                "page."))
    now = timezone.now()
    remember = bool(remember_address and current.sender_address and not record.email)
    attached = 0
    for item in conversation_of(current).filter(record__isnull=True).select_related("service"):
        item.attached_at, item.unmatched_reason = now, ""
        if item.direction == MailMessage.Direction.INBOUND:
            item.agent = actor
        item.save(update_fields=["attached_at", "unmatched_reason", "agent", "updated_at"])
        _log_as_interaction(item, record, agent=item.agent)
        attached += 1
    if remember:
        services.update_record(actor=actor, record=record,
                               values={"email": current.sender_address},
                               lock_version=record.lock_version, request=request)
    record_event(organisation=record.organisation, action="crm.mail_attached", actor=actor,
                 obj=current, object_label=record.full_name, request=request,
                 details={"record": str(record.pk), "messages": attached,
                          "address_remembered": remember})
    current.refresh_from_db()
    return current


@transaction.atomic
def create_record_from_mail(*, actor, message: MailMessage, values: dict,
                            request: HttpRequest | None = None) -> ResidentRecord:
    """A new record for the sender of an unmatched mail (their address on it), the mail
    attached to it."""
    from . import services

    _require_handler(actor, message)
    values = {**values, "email": values.get("email") or message.sender_address}
    record = services.create_record(actor=actor, organisation=message.organisation,
                                    values=values, request=request)
    attach_mail(actor=actor, message=message, record=record, request=request)
    return record


# --- Answering --------------------------------------------------------------------------------

def reply_subject(subject: str) -> str:
    subject = subject.strip() or _("Votre courriel")
    return subject if subject.lower().startswith(("re:", "re :")) else f"Re: {subject}"


def _quoted(message: MailMessage) -> str:
    when = timezone.localtime(message.sent_at or message.received_at).strftime("%d/%m/%Y %H:%M")
    lines = message.body_text[:QUOTE_LIMIT].splitlines() or [""]
    header = _("Le %(when)s, %(who)s a écrit :") % {"when": when, "who": message.sender_label}
    return header + "\n" + "\n".join(f"> {line}" for line in lines)


@transaction.atomic
def reply_to_mail(*, actor, message: MailMessage, body: str,
                  request: HttpRequest | None = None) -> MailMessage:
    """Send the agent's answer from the service address, threaded under `message`
    (Message-ID, In-Reply-To, References), and keep it in the conversation — and on the
    record, when the mail is attached to one. Sent before the transaction ends: if the mail
    server refuses it, nothing is recorded and the agent keeps the text to try again."""
    _require_handler(actor, message)
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Écrivez votre réponse.")})
    if message.direction != MailMessage.Direction.INBOUND or not message.sender_address:
        raise ValidationError(_("Ce courriel n'a pas d'expéditeur lisible : il n'y a personne "
                                "à qui répondre. Contactez la personne par un autre moyen."))
    mailbox = message.mailbox
    domain = mailbox.address.rsplit("@", 1)[-1]
    message_id = make_msgid(domain=domain)
    references = [*message.references.split(), *([message.message_id]
                                                 if message.message_id else [])][-20:]
    subject = reply_subject(message.subject)
    text = f"{body}\n\n{_quoted(message)}"
    sender_name = mailbox.display_name or mailbox.service.name
    headers = {"Message-ID": message_id}
    if message.message_id:
        headers["In-Reply-To"] = message.message_id
    if references:
        headers["References"] = " ".join(references)
    email = EmailMessage(subject=subject, body=text,
                         from_email=formataddr((sender_name, mailbox.address)),
                         to=[message.sender_address], headers=headers)
    root = message.thread_root or message
    now = timezone.now()
    sent = MailMessage.objects.create(
        organisation_id=message.organisation_id, mailbox=mailbox, service=message.service,
        direction=MailMessage.Direction.OUTBOUND, message_id=message_id,
        in_reply_to=message.message_id, references=" ".join(references),
        sender_address=mailbox.address, sender_name=sender_name,
        recipients=message.sender_address, subject=subject[:300], body_text=text,
        sent_at=now, received_at=now, record=None, thread_root=root, agent=actor)
    if message.record is not None:
        _log_as_interaction(sent, message.record, agent=actor)
        if message.interaction_id:
            Interaction.objects.filter(pk=message.interaction_id).update(
                outcome=Interaction.Outcome.ANSWERED)
    record_event(organisation=message.organisation, action="crm.mail_replied", actor=actor,
                 obj=sent, object_label=mailbox.address, request=request,
                 details={"in_reply_to": str(message.pk),
                          "record": str(message.record_id) if message.record_id else None})
    try:
        email.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("Reply %s not sent: %s", message_id, exc)
        raise ValidationError(_("Le serveur de messagerie n'a pas accepté la réponse (%(error)s)"
                                " : elle n'est pas partie. Réessayez dans un moment.")
                              % {"error": exc.__class__.__name__}) from exc
    return sent


def mail_viewed(*, actor, message: MailMessage, request: HttpRequest | None = None) -> None:
    """Reading a resident's mail is audited, like opening their record."""
    record_event(organisation=message.organisation, action="crm.mail_viewed", actor=actor,
                 obj=message, object_label=message.mailbox.address, request=request)


# --- Service addresses ------------------------------------------------------------------------

MAILBOX_FIELDS = ("service", "address", "display_name", "active")


@transaction.atomic
def save_mailbox(*, actor, organisation, values: dict, mailbox: ServiceMailbox | None = None,
                 request: HttpRequest | None = None) -> ServiceMailbox:
    """Create or change a service address (administrators)."""
    if not rules.manages_mailboxes(actor, organisation):
        raise PermissionDenied
    if mailbox is not None and mailbox.organisation_id != organisation.pk:
        raise PermissionDenied
    service = values.get("service")
    if service is None or service.organisation_id != organisation.pk:
        raise ValidationError({"service": _("Choisissez un service de la collectivité.")})
    created = mailbox is None
    mailbox = mailbox or ServiceMailbox(organisation=organisation)
    for name in MAILBOX_FIELDS:
        if name in values:
            setattr(mailbox, name, values[name])
    mailbox.address = (mailbox.address or "").strip().lower()
    mailbox.full_clean(exclude=["organisation"])
    mailbox.save()
    record_event(organisation=organisation,
                 action="crm.mailbox_created" if created else "crm.mailbox_updated",
                 actor=actor, obj=mailbox, object_label=mailbox.address, request=request,
                 details={"service": str(mailbox.service_id), "active": mailbox.active})
    return mailbox
