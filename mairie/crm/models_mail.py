"""Inbound e-mail (issue 5, multi-channel intake): each service may have an address; the mails
the MTA delivers to it are kept whole (the raw message, its text, its attachments), attached to
the sender's record as an e-mail interaction, or left in the service's queue of unmatched
mails; the replies agents write go out from the service address and thread with the
conversation (decision 0467)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mairie.core.models import OrganisationScopedModel


class ServiceMailbox(OrganisationScopedModel):
    """An address of a service ("etat-civil@mairie-exemple.fr"): what the MTA delivers to it
    becomes mail of that service."""

    service = models.ForeignKey("organisation.Service", on_delete=models.PROTECT,
                                related_name="mailboxes", verbose_name=_("service"))
    address = models.EmailField(_("adresse"), unique=True,
                                help_text=_("Adresse de réception, en minuscules."))
    display_name = models.CharField(_("nom affiché"), max_length=150, blank=True,
                                    help_text=_("Nom de l'expéditeur dans les réponses, par "
                                                "exemple « Mairie — État civil »."))
    active = models.BooleanField(_("active"), default=True,
                                 help_text=_("Une adresse inactive refuse les courriels "
                                             "(le serveur de messagerie les renvoie)."))

    class Meta:
        verbose_name = _("adresse de service")
        verbose_name_plural = _("adresses de service")
        ordering = ["address"]

    def __str__(self) -> str:
        return self.address

    def save(self, *args, **kwargs):
        self.address = (self.address or "").strip().lower()
        super().save(*args, **kwargs)


class MailMessage(OrganisationScopedModel):
    """One e-mail received on, or sent from, a service address."""

    class Direction(models.TextChoices):
        INBOUND = "in", _("Reçu")
        OUTBOUND = "out", _("Envoyé")

    class Unmatched(models.TextChoices):
        NO_SENDER = "no_sender", _("Expéditeur absent ou illisible")
        UNKNOWN = "unknown", _("Expéditeur inconnu")
        AMBIGUOUS = "ambiguous", _("Plusieurs fiches ont cette adresse")

    mailbox = models.ForeignKey(ServiceMailbox, on_delete=models.PROTECT,
                                related_name="messages", verbose_name=_("adresse de service"))
    service = models.ForeignKey("organisation.Service", on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("service"))
    direction = models.CharField(_("sens"), max_length=3, choices=Direction.choices)
    message_id = models.CharField(_("identifiant du message"), max_length=500, blank=True)
    in_reply_to = models.CharField(max_length=500, blank=True)
    references = models.TextField(blank=True)
    sender_address = models.CharField(_("adresse de l'expéditeur"), max_length=320, blank=True)
    sender_name = models.CharField(_("nom de l'expéditeur"), max_length=200, blank=True)
    recipients = models.TextField(_("destinataires"), blank=True)
    subject = models.CharField(_("objet"), max_length=300, blank=True)
    body_text = models.TextField(_("texte"), blank=True)
    body_from_html = models.BooleanField(default=False)
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)
    received_at = models.DateTimeField(_("reçu le"), default=timezone.now)
    raw = models.ForeignKey("files.StoredFile", null=True, blank=True, on_delete=models.PROTECT,
                            related_name="+", verbose_name=_("message d'origine"))
    # What could not be read or kept, in French, for the agent: "Date illisible", …
    problems = models.JSONField(default=list, blank=True)
    record = models.ForeignKey("crm.ResidentRecord", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="mail_messages")
    interaction = models.OneToOneField("crm.Interaction", null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="mail_message")
    unmatched_reason = models.CharField(_("à rattacher"), max_length=10,
                                        choices=Unmatched.choices, blank=True)
    thread_root = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="thread_messages")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("agent"))
    attached_at = models.DateTimeField(_("rattaché le"), null=True, blank=True)

    class Meta:
        verbose_name = _("courriel")
        verbose_name_plural = _("courriels")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "message_id"],
                                    condition=~models.Q(message_id=""),
                                    name="crm_mail_once_per_mailbox"),
        ]
        indexes = [
            models.Index(fields=["organisation", "message_id"]),
            models.Index(fields=["service", "record", "received_at"]),
        ]

    def __str__(self) -> str:
        return self.subject or str(_("(sans objet)"))

    @property
    def sender_label(self) -> str:
        if self.sender_name and self.sender_address:
            return f"{self.sender_name} <{self.sender_address}>"
        return self.sender_address or self.sender_name or str(MailMessage.Unmatched.NO_SENDER.label)

    @property
    def conversation_root_id(self):
        return self.thread_root_id or self.pk


class MailAttachment(OrganisationScopedModel):
    """A file attached to a mail: stored when the files service accepts it, else noted with the
    reason (never silently dropped; the raw message still holds it)."""

    message = models.ForeignKey(MailMessage, on_delete=models.CASCADE,
                                related_name="attachments")
    file = models.ForeignKey("files.StoredFile", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    filename = models.CharField(_("nom"), max_length=255)
    declared_type = models.CharField(_("type annoncé"), max_length=100, blank=True)
    size = models.PositiveBigIntegerField(_("taille (octets)"), default=0)
    refusal = models.CharField(_("refusée car"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("pièce jointe de courriel")
        ordering = ["created_at", "filename"]

    def __str__(self) -> str:
        return self.filename
