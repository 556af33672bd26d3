"""OpenID Connect identity providers, configured per collectivité.

Each organisation may offer one provider to its residents (FranceConnect or any OIDC provider)
and one to its agents (ProConnect, the collectivité's own Keycloak…). An `IdentityProvider`
holds what an administrator types; `services.save_identity_provider` mirrors it into the
allauth `SocialApp` (provider "openid_connect") that allauth's views actually use, so allauth
stays unmodified and our adapter only has to filter apps by organisation.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mairie.core.models import OrganisationScopedModel

OIDC_PROVIDER = "openid_connect"


class IdentityProvider(OrganisationScopedModel):
    class Audience(models.TextChoices):
        RESIDENTS = "residents", _("Habitants (type FranceConnect)")
        AGENTS = "agents", _("Agents (type ProConnect)")

    audience = models.CharField(_("public"), max_length=20, choices=Audience.choices)
    name = models.CharField(_("nom"), max_length=100,
                            help_text=_("Par exemple « FranceConnect » ou « ProConnect »."))
    button_label = models.CharField(
        _("libellé du bouton"), max_length=150,
        help_text=_("Texte du bouton sur la page de connexion, par exemple "
                    "« S'identifier avec FranceConnect »."))
    server_url = models.URLField(
        _("adresse du fournisseur (issuer)"), max_length=500,
        help_text=_("L'adresse sous laquelle le fournisseur publie "
                    "/.well-known/openid-configuration."))
    client_id = models.CharField(_("identifiant client"), max_length=191)
    secret = models.CharField(_("secret client"), max_length=191)
    scopes = models.CharField(_("portées (scopes)"), max_length=300,
                              default="openid email profile",
                              help_text=_("Séparées par des espaces."))
    use_pkce = models.BooleanField(_("utiliser PKCE"), default=True)
    is_active = models.BooleanField(_("actif"), default=True)
    app = models.OneToOneField(
        "socialaccount.SocialApp", on_delete=models.PROTECT, null=True, blank=True,
        editable=False, related_name="identity_provider",
        verbose_name=_("application allauth"))

    class Meta:
        verbose_name = _("fournisseur d'identité")
        verbose_name_plural = _("fournisseurs d'identité")
        ordering = ["organisation__name", "audience"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "audience"],
                                    name="one_identity_provider_per_audience"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_audience_display()})"

    def clean(self):
        # allauth finds the app of a pending sign-in (e.g. while the second factor is asked)
        # by provider type and client id: two apps of one organisation cannot share one.
        if self.organisation_id and IdentityProvider.objects.filter(
                organisation_id=self.organisation_id, client_id=self.client_id,
        ).exclude(pk=self.pk).exists():
            raise ValidationError({"client_id": _(
                "Cet identifiant client sert déjà à l'autre fournisseur de la collectivité : "
                "déclarez un client distinct pour chaque public.")})

    @property
    def provider_id(self) -> str:
        return self.app.provider_id if self.app is not None else ""

    def login_path(self) -> str:
        return reverse("openid_connect_login", kwargs={"provider_id": self.provider_id})

    def callback_path(self) -> str:
        """What to register as redirect URI at the provider (after the organisation's host)."""
        return reverse("openid_connect_callback", kwargs={"provider_id": self.provider_id})
