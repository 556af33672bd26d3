"""Mandates (the Aidants Connect model, issue 5): a resident lets a mediator act for them in
some domains for a while. Unusable until the resident's consent is recorded; every use is
journaled in an append-only, hash-chained journal the resident reads in their account."""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mairie.core.mandate_domains import MandateDomain
from mairie.core.models import OrganisationScopedModel

GENESIS = "0" * 64


Domain = MandateDomain


class Duration(models.TextChoices):
    DAY = "day", _("1 jour")
    MONTH = "month", _("1 mois")
    HALF_YEAR = "half_year", _("6 mois")
    YEAR = "year", _("1 an")


DURATION_DAYS: dict[str, int] = {Duration.DAY: 1, Duration.MONTH: 30, Duration.HALF_YEAR: 182,
                 Duration.YEAR: 365}


class Mandate(OrganisationScopedModel):
    class Consent(models.TextChoices):
        EMAIL = "email", _("Code reçu par courriel")
        SMS = "sms", _("Code reçu par SMS")
        PAPER = "paper", _("Mandat papier signé")

    record = models.ForeignKey("crm.ResidentRecord", on_delete=models.CASCADE,
                               related_name="mandates")
    mediator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("aidant"))
    domains = models.JSONField(_("domaines"), default=list)
    duration = models.CharField(_("durée"), max_length=10, choices=Duration.choices)
    consent_method = models.CharField(_("consentement"), max_length=6, choices=Consent.choices)
    code_hash = models.CharField(max_length=64, blank=True, editable=False)
    code_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    code_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    consented_at = models.DateTimeField(_("consentement recueilli le"), null=True, blank=True)
    paper_copy = models.ForeignKey("files.StoredFile", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("mandat signé"))
    paper_sha256 = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(_("expire le"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    reminder_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    renewed_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="renewals")

    class Meta:
        verbose_name = _("mandat")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.record} → {self.mediator}"

    class State(models.TextChoices):
        PENDING = "pending", _("En attente du consentement")
        ACTIVE = "active", _("Actif")
        EXPIRED = "expired", _("Expiré")
        REVOKED = "revoked", _("Révoqué")

    @property
    def state(self) -> str:
        if self.revoked_at:
            return self.State.REVOKED
        if not self.consented_at:
            return self.State.PENDING
        if self.expires_at and self.expires_at <= timezone.now():
            return self.State.EXPIRED
        return self.State.ACTIVE

    def get_state_display(self) -> str:
        return str(self.State(self.state).label)

    def domain_labels(self) -> list[str]:
        return [str(Domain(d).label) for d in self.domains if d in Domain.values]


class MandateUse(models.Model):
    """One line of a mandate's journal: what was done under it. Never changed nor deleted;
    each line's hash covers the previous one (`verify_journal`)."""

    id = models.BigAutoField(primary_key=True)
    mandate = models.ForeignKey(Mandate, on_delete=models.CASCADE, related_name="uses")
    seq = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    actor_label = models.CharField(max_length=300)
    action = models.CharField(max_length=60)
    label = models.CharField(max_length=300)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["mandate", "seq"]
        constraints = [models.UniqueConstraint(fields=["mandate", "seq"],
                                               name="crm_mandate_use_seq")]

    def __str__(self) -> str:
        return f"{self.seq}. {self.label}"

    def compute_hash(self) -> str:
        payload = {"mandate": str(self.mandate_id), "seq": self.seq, "at": self.at.isoformat(),
                   "actor": self.actor_label, "action": self.action, "label": self.label,
                   "prev": self.prev_hash}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
