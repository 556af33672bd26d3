"""In-app notifications and each user's delivery preferences per kind."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mairie.core.models import OrganisationScopedModel


class Frequency(models.TextChoices):
    IMMEDIATELY = "immediately", _("Immédiatement")
    DAILY = "daily", _("Résumé quotidien")
    NEVER = "never", _("Jamais par courriel")


class Notification(OrganisationScopedModel):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="notifications")
    kind = models.CharField(_("type"), max_length=80, db_index=True)
    title = models.CharField(_("titre"), max_length=300)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("lien"), max_length=500, blank=True)
    read_at = models.DateTimeField(_("lue le"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("envoyée par courriel le"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notification_preferences")
    kind = models.CharField(_("type"), max_length=80)
    frequency = models.CharField(_("fréquence des courriels"), max_length=20,
                                 choices=Frequency.choices, default=Frequency.IMMEDIATELY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"],
                                               name="one_preference_per_kind")]
