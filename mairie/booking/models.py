"""Resources the agents book (rooms, vehicles, equipment items), the rules of each, the
reservations (single or in a recurring series), and the loans of equipment items.

A resource never holds two active reservations that overlap: on PostgreSQL an exclusion
constraint says so (migration 0002, decision 0477), on SQLite the service checks inside a
transaction that holds the write lock (`services.reserve`)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mairie.core.models import OrganisationScopedModel
from mairie.core.organisation.models import Role


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


class Resource(OrganisationScopedModel):
    """A room, a vehicle or one equipment item, owned by a service, with its booking rules."""

    class Kind(models.TextChoices):
        ROOM = "room", _("Salle")
        VEHICLE = "vehicle", _("Véhicule")
        EQUIPMENT = "equipment", _("Matériel")

    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("nom"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    location = models.CharField(_("lieu"), max_length=300, blank=True)
    service = models.ForeignKey("organisation.Service", on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("service gestionnaire"))
    capacity = models.PositiveIntegerField(
        _("capacité"), null=True, blank=True,
        help_text=_("Places assises d'une salle ou d'un véhicule."))
    equipment = models.JSONField(_("équipements"), default=list, blank=True,
                                 help_text=_("Vidéoprojecteur, visioconférence…"))
    inventory_number = models.CharField(_("numéro d'inventaire"), max_length=100, blank=True)
    accessible = models.BooleanField(_("accessible aux personnes à mobilité réduite"),
                                     default=False)
    accessibility_notes = models.TextField(_("accessibilité, précisions"), blank=True)
    is_active = models.BooleanField(_("réservable"), default=True)

    # Rules. Who may book is the `rights` rows (none: every agent of the organisation).
    max_days_ahead = models.PositiveSmallIntegerField(
        _("réservable jusqu'à (jours à l'avance)"), default=90)
    max_duration = models.DurationField(_("durée maximale d'une réservation"), null=True,
                                        blank=True)
    requires_approval = models.BooleanField(_("validation requise"), default=False)
    approver_service = models.ForeignKey(
        "organisation.Service", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", verbose_name=_("service qui valide"),
        help_text=_("Par défaut, le service gestionnaire."))
    approver_role = models.CharField(_("rôle qui valide"), max_length=20, choices=Role.choices,
                                     default=Role.MANAGER)
    quota_hours_per_week = models.PositiveSmallIntegerField(
        _("heures par semaine et par personne"), null=True, blank=True)
    quota_future_reservations = models.PositiveSmallIntegerField(
        _("réservations à venir par personne"), null=True, blank=True)

    feed_token = models.CharField(max_length=64, unique=True, default=new_feed_token,
                                  editable=False)

    class Meta:
        verbose_name = _("ressource")
        verbose_name_plural = _("ressources")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "kind", "name"],
                                    name="booking_resource_name_per_kind"),
        ]
        indexes = [models.Index(fields=["organisation", "kind", "is_active"])]

    def __str__(self) -> str:
        return self.name

    @property
    def approving_service_id(self):
        return self.approver_service_id or self.service_id


class BookingRight(models.Model):
    """One "may book" line of a resource: members of `service` (empty: any service) holding
    `role` (empty: any role)."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="rights")
    service = models.ForeignKey("organisation.Service", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="+",
                                verbose_name=_("service"))
    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices, blank=True)

    class Meta:
        verbose_name = _("droit de réserver")
        constraints = [
            models.UniqueConstraint(fields=["resource", "service", "role"],
                                    name="booking_one_right_per_line"),
        ]

    def __str__(self) -> str:
        return f"{self.service or _('tout service')} — {self.get_role_display() or _('tout rôle')}"


class ReservationSeries(OrganisationScopedModel):
    """A recurring reservation: the first occurrence and its RFC 5545 recurrence rule, read in
    the organisation's time zone (a weekly 14:00 stays at 14:00 across daylight saving)."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="series")
    # SET_NULL: erasing an agent's account keeps the room's history, without the name.
    booker = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("réservé par"))
    title = models.CharField(_("objet"), max_length=200, blank=True)
    first_start = models.DateTimeField(_("première occurrence"))
    duration = models.DurationField(_("durée"))
    rrule = models.CharField(_("règle de récurrence (RFC 5545)"), max_length=500)

    class Meta:
        verbose_name = _("série de réservations")
        verbose_name_plural = _("séries de réservations")
        ordering = ["-first_start"]

    def __str__(self) -> str:
        return f"{self.resource} — {self.rrule}"


class Reservation(OrganisationScopedModel):
    class State(models.TextChoices):
        REQUESTED = "requested", _("En attente de validation")
        CONFIRMED = "confirmed", _("Confirmée")
        REFUSED = "refused", _("Refusée")
        CANCELLED = "cancelled", _("Annulée")

    # A request awaiting approval holds its slot: approving it can never create a clash.
    ACTIVE_STATES = (State.REQUESTED, State.CONFIRMED)

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE,
                                 related_name="reservations")
    booker = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="booking_reservations",
                               verbose_name=_("réservé par"))
    title = models.CharField(_("objet"), max_length=200, blank=True)
    start = models.DateTimeField(_("début"))
    end = models.DateTimeField(_("fin"))
    state = models.CharField(_("état"), max_length=10, choices=State.choices,
                             default=State.CONFIRMED)
    series = models.ForeignKey(ReservationSeries, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="reservations")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    refusal_reason = models.TextField(_("motif du refus"), blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("réservation")
        verbose_name_plural = _("réservations")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")),
                                   name="booking_reservation_ends_after_start"),
            # The PostgreSQL exclusion constraint "booking_reservation_no_overlap" is added by
            # migration 0002 only on PostgreSQL (decision 0477), so it is not declared here.
        ]
        indexes = [
            models.Index(fields=["resource", "start"]),
            models.Index(fields=["booker", "start"]),
        ]

    def __str__(self) -> str:
        return f"{self.resource} — {self.start:%d/%m/%Y %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES


class Loan(OrganisationScopedModel):
    """An equipment item checked out to an agent (telework laptop…) until it comes back."""

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="loans",
                                 verbose_name=_("matériel"))
    borrower = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                 on_delete=models.SET_NULL, related_name="booking_loans",
                                 verbose_name=_("emprunteur"))
    checked_out_at = models.DateTimeField(_("prêté le"))
    checked_out_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                       on_delete=models.SET_NULL, related_name="+")
    due_on = models.DateField(_("à rendre le"))
    condition_out = models.TextField(_("état au départ"), blank=True)
    returned_at = models.DateTimeField(_("rendu le"), null=True, blank=True)
    checked_in_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")
    condition_in = models.TextField(_("état au retour"), blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("prêt de matériel")
        verbose_name_plural = _("prêts de matériel")
        ordering = ["-checked_out_at"]
        constraints = [
            models.UniqueConstraint(fields=["resource"],
                                    condition=models.Q(returned_at__isnull=True),
                                    name="booking_one_open_loan_per_item"),
        ]
        indexes = [models.Index(fields=["returned_at", "due_on"])]

    def __str__(self) -> str:
        return f"{self.resource} → {self.borrower}"


class FeedToken(OrganisationScopedModel):
    """The secret of a user's own iCalendar feed of reservations (reset makes a new one)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="booking_feed_token")
    token = models.CharField(max_length=64, unique=True, default=new_feed_token)

    class Meta:
        verbose_name = _("lien secret d'agenda")
