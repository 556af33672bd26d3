"""The organisation chart: services in a tree, and who holds which role where."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mairie.core.models import OrganisationScopedModel


class Role(models.TextChoices):
    AGENT = "agent", _("Agent")
    MANAGER = "manager", _("Chef de service")
    DIRECTOR = "director", _("Direction (DGS, secrétaire communal)")
    ELECTED = "elected", _("Élu")
    MEDIATOR = "mediator", _("Médiateur (accueil, France Services)")
    ADMINISTRATOR = "administrator", _("Administrateur")


class Service(OrganisationScopedModel):
    """A direction or a service. `parent` builds the tree (direction → service)."""

    name = models.CharField(_("nom"), max_length=200)
    slug = models.SlugField(_("identifiant"))
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children", verbose_name=_("service parent"))
    description = models.TextField(_("description"), blank=True)
    email = models.EmailField(_("courriel du service"), blank=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "slug"], name="service_slug_per_org"),
        ]

    def __str__(self) -> str:
        return self.name

    def ancestors(self) -> list["Service"]:
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


class Membership(OrganisationScopedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships", verbose_name=_("agent"))
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="memberships",
                                verbose_name=_("service"))
    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices, default=Role.AGENT)

    class Meta:
        verbose_name = _("affectation")
        verbose_name_plural = _("affectations")
        ordering = ["service__name", "role"]
        constraints = [
            models.UniqueConstraint(fields=["user", "service", "role"],
                                    name="one_role_per_user_service"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} — {self.service}"
