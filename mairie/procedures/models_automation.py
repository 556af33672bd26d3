"""Automation of a procedure (issue 4): deadline reminders and escalation, "silence vaut
accord / refus", routing rules and automatic transitions, plus what the beat task already sent.

The rules are small JSON lists on one row per procedure (`AutomationSettings`), edited on the
builder's "Automatisation" page and checked by `automation.validate_settings` (French
messages). `AutomationNotice` remembers every reminder, escalation and deadline action done,
so that the hourly task never does one twice (a unique constraint, not a check-then-write).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from mairie.core.models import OrganisationScopedModel

__all__ = ["AutomationNotice", "AutomationSettings"]


def default_reminders() -> list[int]:
    return [3, 0]


class AutomationSettings(OrganisationScopedModel):
    """The automation of one procedure.

    - `reminder_days`: days before the deadline on which the assigned agent is reminded
      (0 = on the day), e.g. [3, 0]; empty: no reminder.
    - `escalate`: once the deadline has passed, notify the managers of the owning service.
    - `silence_rules`: [{"state", "decision", "kind": "accord" | "refus"}]: when a dossier's
      deadline in `state` passes without decision, it moves to `decision`.
    - `routing_rules`: ordered [{"label", "condition", "service": pk | "", "agent": pk | ""}];
      on submission the first rule whose condition holds assigns the dossier.
    - `transition_rules`: ordered [{"label", "event", "condition", "transition"}]; event ∈
      submitted, correction_answered, opinion_answered, deadline_passed.
    - `revision`: bumped on every save (optimistic concurrency of the page).
    """

    definition = models.OneToOneField("procedures.ProcedureDefinition", on_delete=models.CASCADE,
                                      related_name="automation", verbose_name=_("démarche"))
    reminder_days = models.JSONField(_("rappels (jours avant l'échéance)"),
                                     default=default_reminders, blank=True)
    escalate = models.BooleanField(_("alerter les chefs de service en cas de retard"),
                                   default=True)
    silence_rules = models.JSONField(_("silence vaut accord ou refus"), default=list,
                                     blank=True)
    routing_rules = models.JSONField(_("règles d'attribution"), default=list, blank=True)
    transition_rules = models.JSONField(_("transitions automatiques"), default=list,
                                        blank=True)
    revision = models.PositiveIntegerField(_("révision"), default=0)

    class Meta:
        verbose_name = _("automatisation d'une démarche")
        verbose_name_plural = _("automatisations des démarches")

    def __str__(self) -> str:
        return str(self.definition)


class AutomationNotice(OrganisationScopedModel):
    """One thing the deadline task did for one dossier, one state and one deadline: a reminder
    (`offset` days before), the escalation, the silence decision or the deadline rules."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("Rappel")
        ESCALATION = "escalation", _("Alerte de retard")
        SILENCE = "silence", _("Silence vaut décision")
        DEADLINE_RULES = "deadline_rules", _("Règles à l'échéance")

    dossier = models.ForeignKey("procedures.Dossier", on_delete=models.CASCADE,
                                related_name="automation_notices", verbose_name=_("dossier"))
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    state = models.CharField(_("état"), max_length=50)
    deadline_at = models.DateTimeField(_("échéance"))
    offset = models.SmallIntegerField(_("jours avant l'échéance"), default=0)

    class Meta:
        verbose_name = _("action d'échéance")
        verbose_name_plural = _("actions d'échéance")
        constraints = [
            models.UniqueConstraint(fields=["dossier", "kind", "state", "deadline_at", "offset"],
                                    name="one_automation_notice_per_deadline_step"),
        ]

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.kind} {self.state} {self.offset}"
