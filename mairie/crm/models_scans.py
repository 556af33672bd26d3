"""Documents scanned or photographed at the counter (issue 5, decision 0469): the original
image as received, kept whatever happens next, and — once Tesseract has read it — a searchable
PDF and its text, so that the resident's record is found by a word of the document."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mairie.core.models import OrganisationScopedModel

EXCERPT_CHARS = 300


class CounterScan(OrganisationScopedModel):
    class State(models.TextChoices):
        PENDING = "pending", _("Lecture du texte en cours")
        DONE = "done", _("Texte lu")
        NO_OCR = "no_ocr", _("OCR indisponible")
        UNREADABLE = "unreadable", _("Illisible")
        FAILED = "failed", _("Échec de la lecture")

    record = models.ForeignKey("crm.ResidentRecord", on_delete=models.CASCADE,
                               related_name="scans", verbose_name=_("fiche usager"))
    # Who reads it: the service that scanned it, directors and administrators (decision 0461),
    # and the agents who may read the dossier it is attached to.
    service = models.ForeignKey("organisation.Service", on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("service"))
    dossier = models.ForeignKey("procedures.Dossier", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("dossier"))
    title = models.CharField(_("intitulé"), max_length=200, blank=True)
    original = models.ForeignKey("files.StoredFile", on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("document d'origine"))
    searchable_pdf = models.ForeignKey("files.StoredFile", null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="+",
                                       verbose_name=_("PDF avec texte"))
    state = models.CharField(_("état"), max_length=10, choices=State.choices,
                             default=State.PENDING, db_index=True)
    text = models.TextField(_("texte lu"), blank=True)
    language = models.CharField(_("langue"), max_length=50, blank=True)
    pages = models.PositiveSmallIntegerField(_("pages"), default=0)
    # Why the text could not be read, for the operator (never personal data).
    problem = models.CharField(max_length=300, blank=True, editable=False)
    # Derived: the text's folded words, for the counter's record search (`queries`).
    search_text = models.TextField(editable=False, blank=True, default="")
    scanned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("numérisé par"))
    read_at = models.DateTimeField(_("lu le"), null=True, blank=True)

    class Meta:
        verbose_name = _("document numérisé")
        verbose_name_plural = _("documents numérisés")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["record", "created_at"])]

    def __str__(self) -> str:
        return self.title or self.original.original_name

    @property
    def label(self) -> str:
        return self.title or self.original.original_name

    @property
    def excerpt(self) -> str:
        flat = " ".join(self.text.split())
        return flat if len(flat) <= EXCERPT_CHARS else flat[:EXCERPT_CHARS].rsplit(" ", 1)[0] + "…"

    @property
    def may_read_again(self) -> bool:
        """Tesseract installed since, or a failure that may not happen twice."""
        return self.state in (self.State.NO_OCR, self.State.FAILED)
