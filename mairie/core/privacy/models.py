"""Requests about personal data handled by the DPO (GDPR art. 15–21): received by mail,
letter or at the counter, answered within a month, with what was erased and what was kept,
and under which rule. The list of requests is the register the DPO keeps."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mairie.core.models import OrganisationScopedModel


class PrivacyRequest(OrganisationScopedModel):
    class Kind(models.TextChoices):
        ACCESS = "access", _("Accès (copie des données)")
        RECTIFICATION = "rectification", _("Rectification")
        ERASURE = "erasure", _("Effacement")
        OBJECTION = "objection", _("Opposition ou limitation")

    class Status(models.TextChoices):
        OPEN = "open", _("En cours")
        DONE = "done", _("Traitée")
        REFUSED = "refused", _("Refusée (motivée)")

    kind = models.CharField(_("type de demande"), max_length=14, choices=Kind.choices)
    requester_name = models.CharField(_("nom de la personne"), max_length=200)
    requester_email = models.EmailField(_("courriel de la personne"), blank=True)
    account = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("compte concerné"))
    details = models.TextField(_("la demande"), blank=True)
    received_on = models.DateField(_("reçue le"))
    due_on = models.DateField(_("à traiter avant le"))
    status = models.CharField(_("état"), max_length=8, choices=Status.choices,
                              default=Status.OPEN)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField(_("close le"), null=True, blank=True)
    answer = models.TextField(_("réponse faite à la personne"), blank=True)
    erased = models.JSONField(_("effacé"), default=list)
    kept = models.JSONField(_("conservé, et pourquoi"), default=list)
    lock_version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("demande sur les données personnelles")
        ordering = ["status", "due_on"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.requester_name}"
