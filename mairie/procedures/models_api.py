"""Webhooks of a procedure: where dossier events are POSTed, and the log of each delivery.

An endpoint belongs to one procedure; every timeline event of its dossiers whose kind the
endpoint subscribed to becomes one `WebhookDelivery` row, written in the same transaction as
the event (the row is the outbox: a delivery lost by the broker is found again by the sweep),
then POSTed by a Celery task with an HMAC-SHA256 signature (see `webhooks.py` and
docs/api-procedures.md).
"""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from mairie.core.models import OrganisationScopedModel

__all__ = ["WebhookDelivery", "WebhookEndpoint", "new_webhook_secret"]


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(OrganisationScopedModel):
    definition = models.ForeignKey("procedures.ProcedureDefinition", on_delete=models.CASCADE,
                                   related_name="webhook_endpoints", verbose_name=_("démarche"))
    url = models.URLField(_("adresse de réception"), max_length=500)
    secret = models.CharField(_("secret de signature"), max_length=100,
                              default=new_webhook_secret)
    # Timeline event kinds ("submitted", "transition"…), or ["*"] for every kind.
    events = models.JSONField(_("événements"), default=list)
    active = models.BooleanField(_("actif"), default=True)
    consecutive_failures = models.PositiveIntegerField(_("échecs consécutifs"), default=0)
    disabled_at = models.DateTimeField(_("désactivé le"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, kind: str) -> bool:
        return "*" in (self.events or []) or kind in (self.events or [])


class WebhookDelivery(OrganisationScopedModel):
    """One event sent (or to send) to one endpoint; `id` is the `X-Mairie-Delivery` header."""

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente")
        SENDING = "sending", _("Envoi en cours")
        DELIVERED = "delivered", _("Remis")
        FAILED = "failed", _("Échec définitif")

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE,
                                 related_name="deliveries", verbose_name=_("webhook"))
    event = models.CharField(_("événement"), max_length=50)
    dossier_event = models.ForeignKey("procedures.DossierEvent", null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+",
                                      verbose_name=_("événement du dossier"))
    payload = models.JSONField(_("contenu"), default=dict)
    status = models.CharField(_("état"), max_length=10, choices=Status.choices,
                              default=Status.PENDING)
    status_code = models.PositiveSmallIntegerField(_("code HTTP"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    next_attempt_at = models.DateTimeField(_("prochaine tentative"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("pris en charge le"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("remis le"), null=True, blank=True)
    response_excerpt = models.TextField(_("début de la réponse"), blank=True)
    error = models.TextField(_("erreur"), blank=True)
    # The delivery this one re-sends (an administrator's "Renvoyer"), for the log.
    resent_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("renvoi de"))

    class Meta:
        verbose_name = _("envoi de webhook")
        verbose_name_plural = _("envois de webhook")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"],
                                name="webhook_delivery_due"),
                   models.Index(fields=["endpoint", "-created_at"],
                                name="webhook_delivery_log")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id}"

    @property
    def delivery_id(self) -> uuid.UUID:
        return self.pk
