"""Exports of the inbox (issue 4): an agent asks for the filtered dossiers of one procedure as
CSV, ODS or JSON; a Celery task (`tasks_exports.py`) writes the file in chunks, updating
`progress`, and stores it as a private file only the requester (and administrators) may read.
The writing itself lives in `exports.py`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mairie.core.models import OrganisationScopedModel

__all__ = ["Export"]


class Export(OrganisationScopedModel):
    """One export asked by one agent, from its request to its file (or its error)."""

    class Format(models.TextChoices):
        CSV = "csv", _("CSV (tableur, séparateur point-virgule)")
        ODS = "ods", _("ODS (tableur LibreOffice)")
        JSON = "json", _("JSON (pour un programme)")

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente")
        RUNNING = "running", _("En cours")
        DONE = "done", _("Prêt")
        FAILED = "failed", _("Échec")

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("demandé par"))
    definition = models.ForeignKey("procedures.ProcedureDefinition", null=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("démarche"))
    format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    # The inbox's box and filters as typed ({"box": "services", "state": "depose"…}): the task
    # applies them again through `queries.dossiers_for_agent` with the requester's rights.
    filters = models.JSONField(_("filtres"), default=dict, blank=True)
    # Scheme and host the agent used, for the absolute links to the files in the export.
    base_url = models.CharField(_("adresse du site"), max_length=200, blank=True)
    status = models.CharField(_("état"), max_length=10, choices=Status.choices,
                              default=Status.PENDING)
    progress = models.PositiveIntegerField(_("dossiers écrits"), default=0)
    total = models.PositiveIntegerField(_("dossiers à écrire"), default=0)
    stored_file = models.ForeignKey("files.StoredFile", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("fichier"))
    error = models.TextField(_("erreur"), blank=True)
    started_at = models.DateTimeField(_("commencé le"), null=True, blank=True)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("export de dossiers")
        verbose_name_plural = _("exports de dossiers")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "requested_by", "-created_at"],
                                name="export_by_requester")]

    def __str__(self) -> str:
        return f"{self.definition} ({self.format}, {self.status})"

    @property
    def is_running(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(self.progress * 100 / self.total) if self.total else 0
