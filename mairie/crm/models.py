"""The citizen record (GRC, issue 5): one record per resident of the organisation, linked to
their account when they have one, or created at the counter or on the phone without one; the
interactions logged on it (counter visit, phone call, letter, e-mail); the merges of two
records of the same person."""

from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mairie.core.models import OrganisationScopedModel


class Channel(models.TextChoices):
    COUNTER = "counter", _("Accueil (guichet)")
    PHONE = "phone", _("Téléphone")
    EMAIL = "email", _("Courriel")
    LETTER = "letter", _("Courrier")
    WEB = "web", _("En ligne")


class ResidentRecord(OrganisationScopedModel):
    """What the administration knows of one resident, and how to reach them."""

    class Preferred(models.TextChoices):
        EMAIL = "email", _("Courriel")
        PHONE = "phone", _("Téléphone")
        SMS = "sms", _("SMS")
        LETTER = "letter", _("Courrier")
        COUNTER = "counter", _("À l'accueil")

    account = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="resident_records",
                                verbose_name=_("compte en ligne"))
    first_name = models.CharField(_("prénom"), max_length=150, blank=True)
    last_name = models.CharField(_("nom"), max_length=150)
    birth_name = models.CharField(_("nom de naissance"), max_length=150, blank=True)
    birth_date = models.DateField(_("date de naissance"), null=True, blank=True)
    email = models.EmailField(_("courriel"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=10, blank=True)
    city = models.CharField(_("commune"), max_length=150, blank=True)
    preferred_channel = models.CharField(_("moyen de contact préféré"), max_length=10,
                                         choices=Preferred.choices, default=Preferred.EMAIL)
    notes = models.TextField(_("remarques d'accueil"), blank=True)
    # Derived (services.refresh_search): folded words, phone digits and French phonetic keys
    # of the names, for the counter's search (accents and typos tolerated).
    search_text = models.TextField(editable=False, blank=True, default="")
    phonetic = models.CharField(editable=False, max_length=300, blank=True, default="")
    phone_digits = models.CharField(editable=False, max_length=20, blank=True, default="",
                                    db_index=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="merged_records",
                                    verbose_name=_("fusionnée dans"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    lock_version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("fiche usager")
        verbose_name_plural = _("fiches usagers")
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "account"],
                                    condition=models.Q(account__isnull=False,
                                                       merged_into__isnull=True),
                                    name="crm_one_live_record_per_account"),
        ]
        indexes = [models.Index(fields=["organisation", "email"])]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name.upper()) if part)

    @property
    def phone_link(self) -> str:
        """The phone number for a `tel:` link, as typed without spaces ("0645678910")."""
        return re.sub(r"[^\d+]", "", self.phone)

    @property
    def summary_line(self) -> str:
        """What tells two namesakes apart, in one line: birth date, e-mail, phone, town."""
        birth = self.birth_date.strftime("%d/%m/%Y") if self.birth_date else ""
        return " · ".join(part for part in (birth, self.email, self.phone, self.city) if part)


class Interaction(OrganisationScopedModel):
    """One contact with the resident, logged by an agent of a service."""

    class Outcome(models.TextChoices):
        ANSWERED = "answered", _("Réponse apportée")
        REDIRECTED = "redirected", _("Orienté vers un autre service")
        DOSSIER = "dossier", _("Démarche déposée pour l'usager")
        APPOINTMENT = "appointment", _("Rendez-vous proposé")
        FOLLOW_UP = "follow_up", _("À suivre")
        UNREACHABLE = "unreachable", _("Injoignable")

    record = models.ForeignKey(ResidentRecord, on_delete=models.CASCADE,
                               related_name="interactions")
    service = models.ForeignKey("organisation.Service", on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("service"))
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("agent"))
    channel = models.CharField(_("canal"), max_length=10, choices=Channel.choices)
    subject = models.CharField(_("objet"), max_length=200)
    notes = models.TextField(_("compte rendu"), blank=True)
    outcome = models.CharField(_("suite donnée"), max_length=12, choices=Outcome.choices)
    follow_up = models.CharField(_("suite à donner"), max_length=300, blank=True)
    follow_up_due = models.DateField(_("à faire avant le"), null=True, blank=True)
    follow_up_done_at = models.DateTimeField(_("suite faite le"), null=True, blank=True)
    happened_at = models.DateTimeField(_("date du contact"), default=timezone.now)
    dossier = models.ForeignKey("procedures.Dossier", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("dossier"))

    class Meta:
        verbose_name = _("contact avec l'usager")
        ordering = ["-happened_at"]
        indexes = [models.Index(fields=["record", "happened_at"])]

    def __str__(self) -> str:
        return self.subject


class RecordMerge(OrganisationScopedModel):
    """Two records of the same person made one: what the absorbed record held, kept to show
    (and explain) what was merged."""

    kept = models.ForeignKey(ResidentRecord, on_delete=models.CASCADE, related_name="merges")
    absorbed = models.ForeignKey(ResidentRecord, on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                              related_name="+")
    snapshot = models.JSONField(default=dict)  # the absorbed record's fields, as they were
    moved = models.JSONField(default=dict)  # {"interactions": 3, "fields": ["phone"]}

    class Meta:
        verbose_name = _("fusion de fiches")
        ordering = ["-created_at"]


class HelpRequest(OrganisationScopedModel):
    """A request for help with an online procedure (the Solidarité numérique help line),
    left on the public page — by the person, or a relative for them — or noted by a mediator
    who took the call. Mediators call back, help, or book an appointment; the outcome goes on
    the person's record."""

    class Topic(models.TextChoices):
        PROCEDURE = "procedure", _("Faire une démarche en ligne")
        ACCOUNT = "account", _("Créer mon compte ou me connecter")
        DOCUMENT = "document", _("Envoyer un document, une photo, un scan")
        DEVICE = "device", _("Utiliser un ordinateur, une tablette ou un téléphone")
        OTHER = "other", _("Autre chose")

    class Status(models.TextChoices):
        NEW = "new", _("À rappeler")
        TAKEN = "taken", _("En cours")
        DONE = "done", _("Terminée")

    class Outcome(models.TextChoices):
        HELPED = "helped", _("Aidé au téléphone")
        COUNTER = "counter", _("Reçu à l'accueil")
        APPOINTMENT = "appointment", _("Rendez-vous fixé")
        FILED = "filed", _("Démarche faite pour la personne")
        UNREACHABLE = "unreachable", _("Injoignable après plusieurs appels")

    reference = models.CharField(_("référence"), max_length=12, unique=True)
    channel = models.CharField(_("reçue par"), max_length=10, choices=Channel.choices,
                               default=Channel.WEB)
    name = models.CharField(_("nom de la personne à aider"), max_length=200)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    email = models.EmailField(_("courriel"), blank=True)
    relative_name = models.CharField(_("nom du proche qui fait la demande"), max_length=200,
                                     blank=True)
    topic = models.CharField(_("sujet"), max_length=12, choices=Topic.choices)
    message = models.TextField(_("ce qui pose problème"), max_length=2000, blank=True)
    best_time = models.CharField(_("moment pour rappeler"), max_length=100, blank=True)
    account = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("état"), max_length=8, choices=Status.choices,
                              default=Status.NEW, db_index=True)
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("pris en charge par"))
    outcome = models.CharField(_("issue"), max_length=12, choices=Outcome.choices, blank=True)
    outcome_notes = models.TextField(_("ce qui a été fait"), blank=True)
    record = models.ForeignKey(ResidentRecord, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="help_requests")
    closed_at = models.DateTimeField(_("terminée le"), null=True, blank=True)
    lock_version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("demande d'aide")
        verbose_name_plural = _("demandes d'aide")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.reference


from .models_mail import *  # noqa: E402,F401,F403
from .models_mandates import *  # noqa: E402,F401,F403
from .models_scans import *  # noqa: E402,F401,F403
