"""A collectivité (Organisation) and the host names it answers on."""

import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from mairie.core.models import BaseModel

colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Couleur au format #RRGGBB."))


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Fuseau horaire inconnu : %(tz)s"), params={"tz": value})


class Organisation(BaseModel):
    class Kind(models.TextChoices):
        COMMUNE = "commune", _("Commune")
        INTERCOMMUNALITE = "intercommunalite", _("Intercommunalité")
        DEPARTEMENT = "departement", _("Département")
        REGION = "region", _("Région")
        CANTON = "canton", _("Canton")
        SYNDICAT = "syndicat", _("Syndicat mixte")

    class Country(models.TextChoices):
        FR = "FR", _("France")
        CH = "CH", _("Suisse")
        BE = "BE", _("Belgique")

    name = models.CharField(_("nom"), max_length=200)
    slug = models.SlugField(_("identifiant"), unique=True)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.COMMUNE)
    country = models.CharField(_("pays"), max_length=2, choices=Country.choices,
                               default=Country.FR)
    is_default = models.BooleanField(
        _("collectivité par défaut"), default=False,
        help_text=_("Servie quand le nom d'hôte ne correspond à aucune collectivité."),
    )
    time_zone = models.CharField(_("fuseau horaire"), max_length=64, default="Europe/Paris",
                                 validators=[validate_time_zone])
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    # Theme (design tokens)
    primary_colour = models.CharField(_("couleur principale"), max_length=7, default="#000091",
                                      validators=[colour_validator])
    secondary_colour = models.CharField(_("couleur secondaire"), max_length=7,
                                        default="#e1000f", validators=[colour_validator])
    logo = models.ForeignKey("files.StoredFile", null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+",
                             verbose_name=_("logo"))
    # Contact details, used by the legal pages
    address = models.TextField(_("adresse postale"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    email = models.EmailField(_("courriel de contact"), blank=True)
    website = models.URLField(_("site internet"), blank=True)
    siret = models.CharField(_("SIRET / IDE"), max_length=20, blank=True)
    legal_representative = models.CharField(
        _("directeur de la publication"), max_length=200, blank=True,
        help_text=_("Le maire ou le président, en général."))
    dpo_name = models.CharField(_("délégué à la protection des données"), max_length=200,
                                blank=True)
    dpo_email = models.EmailField(_("courriel du DPO"), blank=True)
    host_name = models.CharField(_("hébergeur"), max_length=300, blank=True,
                                 help_text=_("Nom et adresse de l'hébergeur du service."))
    accessibility_status = models.CharField(
        _("état de conformité RGAA"), max_length=20, default="partial",
        choices=[("full", _("totalement conforme")), ("partial", _("partiellement conforme")),
                 ("none", _("non conforme"))],
    )
    accessibility_audit_date = models.DateField(_("date de l'audit RGAA"), null=True, blank=True)
    accessibility_rate = models.PositiveSmallIntegerField(
        _("taux de conformité RGAA (%)"), null=True, blank=True)
    personal_data_retention_months = models.PositiveSmallIntegerField(
        _("durée de conservation des comptes inactifs (mois)"), default=36)

    class Meta:
        verbose_name = _("collectivité")
        verbose_name_plural = _("collectivités")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True),
                                    name="one_default_organisation"),
        ]

    def __str__(self) -> str:
        return self.name


class OrganisationHost(models.Model):
    """A host name (without port) that serves one organisation's portal and workspace."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="hosts")
    host = models.CharField(_("nom d'hôte"), max_length=253, unique=True)

    class Meta:
        verbose_name = _("nom d'hôte")
        verbose_name_plural = _("noms d'hôte")

    def __str__(self) -> str:
        return self.host

    def save(self, *args, **kwargs):
        self.host = self.host.lower().strip().rstrip(".")
        super().save(*args, **kwargs)
