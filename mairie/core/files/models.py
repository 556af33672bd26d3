"""Stored files: checked by content, size and hash; served only through permission checks."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mairie.core.models import OrganisationScopedModel


def _upload_path(instance: "StoredFile", filename: str) -> str:
    # Never the user's file name on disk: an opaque path per organisation.
    return f"files/{instance.organisation_id}/{instance.sha256[:2]}/{instance.id}"


class ScanStatus(models.TextChoices):
    CLEAN = "clean", _("analysé par l'antivirus, sain")
    NOT_SCANNED = "not_scanned", _("non analysé (aucun antivirus configuré)")


class StoredFile(OrganisationScopedModel):
    """One uploaded file. `content_type` is what the bytes are, detected on upload."""

    purpose = models.CharField(_("usage"), max_length=50, db_index=True)
    original_name = models.CharField(_("nom d'origine"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("taille (octets)"))
    sha256 = models.CharField(_("empreinte SHA-256"), max_length=64, db_index=True)
    file = models.FileField(upload_to=_upload_path, max_length=300)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    scan_status = models.CharField(_("analyse antivirus"), max_length=20,
                                   choices=ScanStatus.choices, default=ScanStatus.NOT_SCANNED)
    is_public = models.BooleanField(
        _("public"), default=False,
        help_text=_("Lisible sans connexion (logo de la collectivité, par exemple)."))

    class Meta:
        verbose_name = _("fichier")
        verbose_name_plural = _("fichiers")

    def __str__(self) -> str:
        return self.original_name
