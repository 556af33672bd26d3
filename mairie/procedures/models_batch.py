"""Batch work: one action (a transition, an assignment, a label, a message) applied by an agent
to many dossiers at once, in the background (`batches.py`, `tasks_batch.py`).

The dossiers of a batch are frozen when it is created (one `BatchItem` each, unique per batch):
running it again after a worker crash only takes the items still pending, and an item is marked
done in the same transaction as the action it records, so no dossier gets the action twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mairie.core.models import OrganisationScopedModel

__all__ = ["Batch", "BatchItem"]


class Batch(OrganisationScopedModel):
    """One action on a frozen selection of dossiers, and its progress."""

    class Action(models.TextChoices):
        TRANSITION = "transition", _("Faire franchir une étape")
        ASSIGN = "assign", _("Attribuer")
        LABEL_ADD = "label_add", _("Ajouter une étiquette")
        LABEL_REMOVE = "label_remove", _("Retirer une étiquette")
        MESSAGE = "message", _("Envoyer un message aux demandeurs")

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente")
        RUNNING = "running", _("En cours")
        FINISHED = "finished", _("Terminé")

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("créé par"))
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    # What the action needs: {"transition", "comment"}, {"to"}, {"label", "label_name"},
    # {"body"}; plus {"summary"}: how the selection was made, for the progress page.
    parameters = models.JSONField(_("paramètres"), default=dict, blank=True)
    status = models.CharField(_("état"), max_length=10, choices=Status.choices,
                              default=Status.PENDING)
    total = models.PositiveIntegerField(_("dossiers"), default=0)
    done = models.PositiveIntegerField(_("faits"), default=0)
    failed = models.PositiveIntegerField(_("en échec"), default=0)
    skipped = models.PositiveIntegerField(_("sans changement"), default=0)
    started_at = models.DateTimeField(_("commencé le"), null=True, blank=True)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)
    # One per confirmation form shown: a second click (or a resent form) finds the batch the
    # first one created instead of starting the action twice.
    request_token = models.UUIDField(_("jeton du formulaire"), null=True, blank=True,
                                     editable=False)

    class Meta:
        verbose_name = _("traitement par lot")
        verbose_name_plural = _("traitements par lot")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "created_by", "-created_at"],
                                name="batch_by_agent")]
        constraints = [models.UniqueConstraint(fields=["created_by", "request_token"],
                                               name="one_batch_per_form")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.total})"

    @property
    def processed(self) -> int:
        return self.done + self.failed + self.skipped

    @property
    def running(self) -> bool:
        return self.status != self.Status.FINISHED


class BatchItem(models.Model):
    """One dossier of a batch: pending until processed, then done, failed (with the reason,
    in French) or skipped (nothing to change)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("À traiter")
        DONE = "done", _("Fait")
        FAILED = "failed", _("En échec")
        SKIPPED = "skipped", _("Sans changement")

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="items",
                              verbose_name=_("lot"))
    dossier = models.ForeignKey("procedures.Dossier", on_delete=models.CASCADE,
                                related_name="+", verbose_name=_("dossier"))
    position = models.PositiveIntegerField(_("rang"), default=0)
    # The dossier's lock version when the batch was created: a transition is refused on a
    # dossier someone else moved since (optimistic locking, as on the dossier page).
    lock_version = models.PositiveIntegerField(_("version d'enregistrement"), default=0)
    status = models.CharField(_("état"), max_length=10, choices=Status.choices,
                              default=Status.PENDING)
    reason = models.TextField(_("raison"), blank=True)
    processed_at = models.DateTimeField(_("traité le"), null=True, blank=True)

    class Meta:
        verbose_name = _("dossier du lot")
        verbose_name_plural = _("dossiers du lot")
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "dossier"], name="batch_item_once"),
        ]
        indexes = [models.Index(fields=["batch", "status", "position"],
                                name="batch_item_todo")]

    def __str__(self) -> str:
        return f"{self.batch_id} — {self.dossier_id}"
