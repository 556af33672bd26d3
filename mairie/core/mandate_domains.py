"""The domains a resident can entrust to a helper under a mandate (Aidants Connect's list).
Shared by the procedures (which domain a procedure belongs to) and the mandates (`crm`)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MandateDomain(models.TextChoices):
    PAPERS = "papers", _("Papiers et citoyenneté")
    FAMILY = "family", _("Famille et scolarité")
    SOCIAL = "social", _("Social et santé")
    WORK = "work", _("Travail")
    HOUSING = "housing", _("Logement")
    TRANSPORT = "transport", _("Transports et mobilité")
    MONEY = "money", _("Argent, impôts et consommation")
    JUSTICE = "justice", _("Justice")
    FOREIGNERS = "foreigners", _("Étrangers")
    LEISURE = "leisure", _("Loisirs, sports et culture")
