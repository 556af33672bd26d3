"""Append-only audit trail, hash-chained per organisation.

Each event stores the hash of the previous event of its organisation and its own hash over its
content, so that changing or removing a row breaks the chain (`python -m mairie audit verify`).
On PostgreSQL a trigger also makes the database refuse UPDATE and DELETE on the table.
"""

import hashlib
import json

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    organisation = models.ForeignKey("tenancy.Organisation", on_delete=models.PROTECT,
                                     related_name="+")
    seq = models.PositiveBigIntegerField(_("numéro"))
    created_at = models.DateTimeField(_("date"), db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+", db_constraint=False)
    actor_label = models.CharField(_("auteur"), max_length=300, blank=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)
    object_type = models.CharField(_("type d'objet"), max_length=100, blank=True)
    object_id = models.CharField(_("identifiant d'objet"), max_length=64, blank=True,
                                 db_index=True)
    object_label = models.CharField(_("objet"), max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(_("adresse IP"), null=True, blank=True)
    user_agent = models.CharField(_("navigateur"), max_length=300, blank=True)
    details = models.JSONField(_("détails"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("événement d'audit")
        verbose_name_plural = _("journal d'audit")
        ordering = ["organisation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "seq"], name="audit_seq_per_org"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_label}"

    def compute_hash(self) -> str:
        # actor_id is kept as text so that a deleted user (SET NULL) is detected as tampering
        # only through actor_label, which never changes.
        payload = {
            "organisation": str(self.organisation_id),
            "seq": self.seq,
            "created_at": self.created_at.isoformat(),
            "actor_label": self.actor_label,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_label": self.object_label,
            "ip_address": self.ip_address or "",
            "user_agent": self.user_agent,
            "details": self.details,
            "prev_hash": self.prev_hash,
        }
        raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                         default=str)
        return hashlib.sha256(raw.encode()).hexdigest()


class AuditChainHead(models.Model):
    """The last link of each organisation's chain; locked while appending."""

    organisation = models.OneToOneField("tenancy.Organisation", on_delete=models.CASCADE,
                                        primary_key=True, related_name="+")
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"{self.organisation_id} #{self.last_seq}"
