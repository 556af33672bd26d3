"""In-app notifications, each user's delivery preferences per kind, and the digests sent."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mairie.core.models import OrganisationScopedModel


class Frequency(models.TextChoices):
    IMMEDIATELY = "immediately", _("Immédiatement")
    DAILY = "daily", _("Résumé quotidien")
    NEVER = "never", _("Jamais par courriel")


class Notification(OrganisationScopedModel):
    """One message for one user, shown in the app and (depending on preferences) e-mailed.

    `emailed_at` is set once the message went out by e-mail, alone or in a digest: it is what
    makes the e-mail deliveries idempotent.
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="notifications")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+", verbose_name=_("auteur"))
    kind = models.CharField(_("type"), max_length=80, db_index=True)
    title = models.CharField(_("titre"), max_length=300)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("lien"), max_length=500, blank=True)
    read_at = models.DateTimeField(_("lue le"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("envoyée par courriel le"), null=True, blank=True)
    # What the notification is about ("procedures.dossier:<uuid>", `subject_of`): how the
    # retention of that object, or a person's erasure, finds the notifications that quote it.
    subject = models.CharField(_("objet concerné"), max_length=120, blank=True, db_index=True)

    class Meta:
        verbose_name = _("notification")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(models.Model):
    """A user's choice for one kind; without a row, the kind's default frequency applies."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notification_preferences")
    kind = models.CharField(_("type"), max_length=80)
    frequency = models.CharField(_("fréquence des courriels"), max_length=20,
                                 choices=Frequency.choices, default=Frequency.IMMEDIATELY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"],
                                               name="one_preference_per_kind")]

    def __str__(self) -> str:
        return f"{self.user} — {self.kind} — {self.frequency}"


class NotificationDigest(OrganisationScopedModel):
    """A daily digest e-mailed to a user: remembers when, so each user gets one a day at most."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="notification_digests")
    sent_at = models.DateTimeField(_("envoyé le"), db_index=True)
    notification_count = models.PositiveIntegerField(_("nombre de notifications"))

    class Meta:
        verbose_name = _("résumé quotidien")
        verbose_name_plural = _("résumés quotidiens")
        ordering = ["-sent_at"]
        indexes = [models.Index(fields=["recipient", "sent_at"])]

    def __str__(self) -> str:
        return f"{self.recipient} — {self.sent_at:%Y-%m-%d}"


def subject_of(obj) -> str:
    """The `Notification.subject` of notifications about `obj` ("app.model:pk")."""
    return f"{obj._meta.label_lower}:{obj.pk}" if obj is not None else ""
