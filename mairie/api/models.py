"""Personal access tokens for the REST API.

The raw key is shown to its owner once, at creation; only its SHA-256 digest is stored, with a
short non-secret prefix so the owner can tell tokens apart. A fast hash is enough here because
keys are 256-bit random values (nothing to brute-force, unlike passwords). A token belongs to
one organisation and only authenticates requests made on that organisation's host names.
"""

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mairie.core.models import OrganisationScopedModel

from .scopes import grants, scope_label

KEY_PREFIX = "mtk_"  # recognisable in logs and by secret scanners
DISPLAY_PREFIX_LENGTH = len(KEY_PREFIX) + 8


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


class PersonalToken(OrganisationScopedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Actif")
        EXPIRED = "expired", _("Expiré")
        REVOKED = "revoked", _("Révoqué")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens", verbose_name=_("utilisateur"))
    name = models.CharField(_("nom"), max_length=100,
                            help_text=_("À quoi sert ce jeton, pour le reconnaître."))
    prefix = models.CharField(_("début du jeton"), max_length=DISPLAY_PREFIX_LENGTH)
    key_hash = models.CharField(_("empreinte du jeton"), max_length=64, unique=True,
                                editable=False)
    scopes = models.JSONField(_("portées"), default=list)
    expires_at = models.DateTimeField(_("expire le"))
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)

    class Meta:
        verbose_name = _("jeton d'accès personnel")
        verbose_name_plural = _("jetons d'accès personnels")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "organisation", "-created_at"],
                                name="api_token_user_org")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.ACTIVE

    def get_status_display(self) -> str:
        return str(self.Status(self.status).label)

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def scope_labels(self) -> list[str]:
        return [scope_label(code) for code in self.scopes]

    def grants(self, required: str) -> bool:
        return grants(self.scopes, required)
