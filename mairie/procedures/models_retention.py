"""How long a procedure keeps its decided dossiers (issue 4, "Retention").

One `RetentionPolicy` per procedure, set by its designers: after `months` from the decision
(`Dossier.decided_at`) the daily job (`retention.apply_retention`) deletes or anonymises the
dossier; the file fields listed in `identity_fields` (identity documents) are removed as soon
as the dossier is decided, as démarches-simplifiées does. No policy, or no `months`: the
dossiers are kept until someone decides otherwise.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from mairie.core.models import OrganisationScopedModel

__all__ = ["RetentionPolicy"]


class RetentionPolicy(OrganisationScopedModel):
    class Mode(models.TextChoices):
        ANONYMISE = "anonymise", _("Anonymiser")
        DELETE = "delete", _("Supprimer")

    definition = models.OneToOneField("procedures.ProcedureDefinition", on_delete=models.CASCADE,
                                      related_name="retention_policy",
                                      verbose_name=_("démarche"))
    months = models.PositiveSmallIntegerField(
        _("durée de conservation (mois)"), null=True, blank=True,
        help_text=_("Après la décision. Vide : conservation sans limite."))
    mode = models.CharField(_("à l'échéance"), max_length=10, choices=Mode.choices,
                            default=Mode.ANONYMISE)
    identity_fields = models.JSONField(
        _("pièces d'identité"), default=list, blank=True,
        help_text=_("Clés des champs fichier supprimés dès la décision."))

    class Meta:
        verbose_name = _("règle de conservation")
        verbose_name_plural = _("règles de conservation")

    def __str__(self) -> str:
        return f"{self.definition_id}: {self.months or '∞'} {self.mode}"
