"""Citizen appointments (issue 6): the counters where residents are received and when they
are open, the kinds of appointment, which agents serve them and when, and the bookable slots
materialised from all of that (decision 0473).

No double booking is a database invariant, not a page's courtesy:
- a slot never holds more bookings than its capacity (`booked <= capacity`, a check);
- each booking takes one numbered seat of its slot (`unique (slot, seat)` among live ones);
- an agent is never booked twice at the same time across types and counters: booking a slot
  puts a hold on the agent's overlapping slots, and a slot is never both booked and held
  (a check), see `services.book_appointment`."""

from __future__ import annotations

import datetime
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from mairie.core.models import OrganisationScopedModel
from mairie.core.tenancy.models import validate_time_zone


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("lundi")
    TUESDAY = 1, _("mardi")
    WEDNESDAY = 2, _("mercredi")
    THURSDAY = 3, _("jeudi")
    FRIDAY = 4, _("vendredi")
    SATURDAY = 5, _("samedi")
    SUNDAY = 6, _("dimanche")


class Counter(OrganisationScopedModel):
    """A place where residents are received (the town hall's front desk, a France Services
    office, an annex). Its hours are local to its time zone, the organisation's by default."""

    name = models.CharField(_("nom"), max_length=200)
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    time_zone = models.CharField(_("fuseau horaire"), max_length=64, blank=True,
                                 validators=[validate_time_zone],
                                 help_text=_("Celui de la collectivité si vide."))
    holiday_subdivision = models.CharField(
        _("subdivision pour les jours fériés"), max_length=10, blank=True,
        help_text=_("Canton (« VD », « GE »…), département à régime local (« 57 », « 67 », "
                    "« 68 ») ou région ; vide : jours fériés nationaux seulement."))
    is_active = models.BooleanField(_("ouvert aux rendez-vous"), default=True)

    class Meta:
        verbose_name = _("lieu d'accueil")
        verbose_name_plural = _("lieux d'accueil")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone or self.organisation.time_zone)


class OpeningHours(models.Model):
    """One opening range of a counter on a weekday (two rows for a day with a lunch break)."""

    counter = models.ForeignKey(Counter, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(_("jour"), choices=Weekday.choices)
    start = models.TimeField(_("de"))
    end = models.TimeField(_("à"))

    class Meta:
        verbose_name = _("horaire d'ouverture")
        ordering = ["weekday", "start"]
        constraints = [models.CheckConstraint(condition=Q(start__lt=F("end")),
                                              name="appointments_hours_start_before_end")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class Closure(models.Model):
    """An exception to a counter's weekly hours over a date range: closed (the whole day, or
    only between two times), or an extra opening (a Saturday before an election), which also
    opens on a public holiday."""

    class Kind(models.TextChoices):
        CLOSED = "closed", _("Fermeture exceptionnelle")
        OPEN = "open", _("Ouverture exceptionnelle")

    counter = models.ForeignKey(Counter, on_delete=models.CASCADE, related_name="closures")
    kind = models.CharField(_("type"), max_length=6, choices=Kind.choices, default=Kind.CLOSED)
    starts_on = models.DateField(_("du"))
    ends_on = models.DateField(_("au (inclus)"))
    start = models.TimeField(_("de"), null=True, blank=True)
    end = models.TimeField(_("à"), null=True, blank=True)
    label = models.CharField(_("motif"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("exception aux horaires")
        ordering = ["starts_on"]
        indexes = [models.Index(fields=["counter", "ends_on"])]
        constraints = [
            models.CheckConstraint(condition=Q(starts_on__lte=F("ends_on")),
                                   name="appointments_closure_dates_ordered"),
            # Both times or neither; an extra opening needs its hours.
            models.CheckConstraint(
                condition=(Q(start__isnull=True, end__isnull=True, kind="closed")
                           | Q(start__isnull=False, end__isnull=False, start__lt=F("end"))),
                name="appointments_closure_times"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_on:%d/%m/%Y}–{self.ends_on:%d/%m/%Y}"

    def covers_whole_day(self) -> bool:
        return self.start is None


class AppointmentType(OrganisationScopedModel):
    """A kind of appointment: passport and identity card (20 min), civil status (15 min), a
    social worker (45 min), an information session for several people (capacity > 1)."""

    name = models.CharField(_("nom"), max_length=200)
    description = models.TextField(_("à savoir avant de venir"), blank=True)
    duration_minutes = models.PositiveSmallIntegerField(
        _("durée (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(8 * 60)])
    capacity = models.PositiveSmallIntegerField(
        _("personnes par créneau"), default=1, validators=[MinValueValidator(1)],
        help_text=_("Plus d'une pour une séance collective."))
    counters = models.ManyToManyField(Counter, related_name="appointment_types",
                                      verbose_name=_("lieux"))
    agents = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+",
                                    verbose_name=_("agents qui reçoivent"))
    min_notice_hours = models.PositiveSmallIntegerField(
        _("délai minimal de réservation (heures)"), default=2)
    max_days_ahead = models.PositiveSmallIntegerField(
        _("réservable jusqu'à (jours à l'avance)"), default=60,
        validators=[MinValueValidator(1), MaxValueValidator(366)])
    max_future_per_person = models.PositiveSmallIntegerField(
        _("rendez-vous à venir par personne"), default=1, validators=[MinValueValidator(1)],
        help_text=_("Par courriel, téléphone ou compte, pour ce type de rendez-vous."))
    is_active = models.BooleanField(_("proposé en ligne"), default=True)

    class Meta:
        verbose_name = _("type de rendez-vous")
        verbose_name_plural = _("types de rendez-vous")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1),
                                   name="appointments_type_capacity_positive"),
            models.CheckConstraint(condition=Q(max_future_per_person__gte=1),
                                   name="appointments_type_max_future_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def duration(self) -> datetime.timedelta:
        return datetime.timedelta(minutes=self.duration_minutes)


class AgentAvailability(models.Model):
    """When an agent receives at a counter: every given weekday (within an optional validity
    period), or on one date (to staff an extra opening)."""

    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="appointment_availabilities")
    counter = models.ForeignKey(Counter, on_delete=models.CASCADE,
                                related_name="availabilities")
    weekday = models.PositiveSmallIntegerField(_("jour"), choices=Weekday.choices, null=True,
                                               blank=True)
    on_date = models.DateField(_("le"), null=True, blank=True)
    start = models.TimeField(_("de"))
    end = models.TimeField(_("à"))
    valid_from = models.DateField(_("à partir du"), null=True, blank=True)
    valid_until = models.DateField(_("jusqu'au"), null=True, blank=True)

    class Meta:
        verbose_name = _("disponibilité d'un agent")
        verbose_name_plural = _("disponibilités des agents")
        indexes = [models.Index(fields=["counter", "agent"])]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=F("end")),
                                   name="appointments_availability_start_before_end"),
            models.CheckConstraint(
                condition=(Q(weekday__isnull=False, on_date__isnull=True)
                           | Q(weekday__isnull=True, on_date__isnull=False)),
                name="appointments_availability_weekday_or_date"),
        ]

    def __str__(self) -> str:
        day = self.on_date.strftime("%d/%m/%Y") if self.on_date else self.get_weekday_display()
        return f"{self.agent} {day} {self.start:%H:%M}–{self.end:%H:%M}"

    def applies_on(self, day: datetime.date) -> bool:
        if self.on_date is not None:
            return self.on_date == day
        if self.weekday != day.weekday():
            return False
        return ((self.valid_from is None or self.valid_from <= day)
                and (self.valid_until is None or day <= self.valid_until))


class AgentAbsence(models.Model):
    """An agent away (leave, training, sick), from one moment to another."""

    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="appointment_absences")
    starts_at = models.DateTimeField(_("du"))
    ends_at = models.DateTimeField(_("au"))
    reason = models.CharField(_("motif"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("absence d'un agent")
        verbose_name_plural = _("absences des agents")
        indexes = [models.Index(fields=["agent", "ends_at"])]
        constraints = [models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")),
                                              name="appointments_absence_ordered")]

    def __str__(self) -> str:
        return f"{self.agent} {self.starts_at:%d/%m/%Y}–{self.ends_at:%d/%m/%Y}"


class Slot(OrganisationScopedModel):
    """A bookable time of one agent at one counter for one type, materialised from the plan
    (`services.generate_slots`). `booked` counts its live appointments; `holds` counts the
    booked slots of the same agent that overlap it (another type, another counter)."""

    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.CASCADE,
                                         related_name="slots")
    counter = models.ForeignKey(Counter, on_delete=models.CASCADE, related_name="slots")
    # PROTECT: closing a former agent's account keeps the slots of the appointments they
    # gave (the account stays as a tombstone, decision 0100); removing them from the plan
    # already withdraws their free slots.
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="appointment_slots")
    start = models.DateTimeField(_("début"))
    end = models.DateTimeField(_("fin"))
    capacity = models.PositiveSmallIntegerField(_("places"), default=1)
    booked = models.PositiveSmallIntegerField(_("places prises"), default=0)
    holds = models.PositiveSmallIntegerField(default=0, editable=False)
    blocked = models.BooleanField(_("bloqué par le service"), default=False)
    # Left the plan (an absence, a closure) while it had bookings: kept for them, not offered.
    withdrawn = models.BooleanField(default=False, editable=False)

    class Meta:
        verbose_name = _("créneau")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=F("end")),
                                   name="appointments_slot_start_before_end"),
            models.CheckConstraint(condition=Q(capacity__gte=1),
                                   name="appointments_slot_capacity_positive"),
            models.CheckConstraint(condition=Q(booked__lte=F("capacity")),
                                   name="appointments_slot_not_overbooked"),
            # The agent cannot be in two appointments at once.
            models.CheckConstraint(condition=Q(booked=0) | Q(holds=0),
                                   name="appointments_slot_booked_or_held"),
            models.UniqueConstraint(fields=["appointment_type", "counter", "agent", "start"],
                                    name="appointments_one_slot_per_agent_time"),
        ]
        indexes = [
            # The search: the next free slots of a type, in time order, from a moment.
            models.Index(fields=["appointment_type", "start"],
                         condition=Q(blocked=False, withdrawn=False, holds=0),
                         name="appointments_slot_search"),
            models.Index(fields=["agent", "start"], name="appointments_slot_agent"),
            models.Index(fields=["counter", "start"], name="appointments_slot_counter"),
        ]

    def __str__(self) -> str:
        return f"{self.appointment_type} {self.start:%d/%m/%Y %H:%M}"

    @property
    def free_seats(self) -> int:
        return self.capacity - self.booked

    @property
    def is_free(self) -> bool:
        return not (self.blocked or self.withdrawn or self.holds) and self.booked < self.capacity


AGENT_NOTE_MAX_LENGTH = 2000


class Appointment(OrganisationScopedModel):
    """One resident's booking of one seat of a slot, with an account or with name, e-mail
    and phone. Opaque id; the resident manages it through a signed link."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("Réservé")
        CANCELLED = "cancelled", _("Annulé")

    class Attendance(models.TextChoices):
        EXPECTED = "", _("Attendu")
        ARRIVED = "arrived", _("Arrivé")
        NO_SHOW = "no_show", _("Absent")

    class Channel(models.TextChoices):
        ONLINE = "online", _("En ligne")
        PHONE = "phone", _("Par téléphone")
        COUNTER = "counter", _("À l'accueil")

    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="appointments")
    seat = models.PositiveSmallIntegerField(_("place"))
    status = models.CharField(_("état"), max_length=10, choices=Status.choices,
                              default=Status.BOOKED)
    account = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="appointments")
    name = models.CharField(_("nom"), max_length=200)
    email = models.EmailField(_("courriel"))
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    # Normalised (lower-case address, digits in E.164) for the anti-hoarding count.
    email_key = models.CharField(max_length=254, editable=False, db_index=True)
    phone_key = models.CharField(max_length=20, editable=False, blank=True, db_index=True)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("réservé par"))
    cancelled_at = models.DateTimeField(_("annulé le"), null=True, blank=True)
    channel = models.CharField(_("pris"), max_length=8, choices=Channel.choices,
                               default=Channel.ONLINE)
    attendance = models.CharField(_("présence"), max_length=8, choices=Attendance.choices,
                                  default=Attendance.EXPECTED, blank=True)
    attendance_at = models.DateTimeField(_("présence notée le"), null=True, blank=True)
    attendance_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")
    # The dossier the appointment is for (bring the documents of a passport application).
    dossier = models.ForeignKey("procedures.Dossier", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="appointments",
                                verbose_name=_("dossier"))
    # Written by `services.set_agent_note`, at most AGENT_NOTE_MAX_LENGTH characters.
    agent_note = models.TextField(_("note de l'agent"), blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    # iCalendar SEQUENCE of the event sent to the resident: bumped on each move and on the
    # cancellation, so that calendar applications replace the event (decision 0482).
    sequence = models.PositiveIntegerField(default=0, editable=False)
    # Denormalised from the slot, for the per-person count of future appointments.
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.CASCADE,
                                         related_name="+")
    starts_at = models.DateTimeField(_("début"))

    class Meta:
        verbose_name = _("rendez-vous")
        verbose_name_plural = _("rendez-vous")
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["slot", "seat"], condition=Q(status="booked"),
                                    name="appointments_one_booking_per_seat"),
        ]
        indexes = [
            models.Index(fields=["appointment_type", "email_key", "starts_at"],
                         name="appointments_by_email"),
            models.Index(fields=["appointment_type", "phone_key", "starts_at"],
                         name="appointments_by_phone"),
        ]

    def __str__(self) -> str:
        return f"{self.name} — {self.appointment_type} {self.starts_at:%d/%m/%Y %H:%M}"

    def clean(self):
        if self.slot_id and self.seat is not None and self.seat >= self.slot.capacity:
            raise ValidationError({"seat": _("Cette place n'existe pas dans ce créneau.")})


class WaitingListEntry(OrganisationScopedModel):
    """A resident who found no slot that suits and asks to be told when one frees up (a
    cancellation, a move, a slot unblocked). Told once per freed slot, first come first told;
    the entry ends when they book, unsubscribe or after `wanted_until`."""

    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.CASCADE,
                                         related_name="waiting_list")
    counter = models.ForeignKey(Counter, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+", verbose_name=_("lieu"),
                                help_text=_("Vide : n'importe quel lieu."))
    account = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(_("nom"), max_length=200)
    email = models.EmailField(_("courriel"))
    email_key = models.CharField(max_length=254, editable=False, db_index=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    wanted_until = models.DateField(_("jusqu'au"), null=True, blank=True,
                                    help_text=_("Au-delà, l'inscription prend fin."))
    created_at = models.DateTimeField(auto_now_add=True)
    last_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    notified_count = models.PositiveSmallIntegerField(default=0, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("inscription sur la liste d'attente")
        verbose_name_plural = _("liste d'attente")
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["appointment_type", "email_key"],
                                    condition=Q(ended_at__isnull=True),
                                    name="appointments_one_waiting_entry_per_person"),
        ]
        indexes = [models.Index(fields=["appointment_type", "ended_at", "created_at"],
                                name="appointments_waiting_order")]

    def __str__(self) -> str:
        return f"{self.name} — {self.appointment_type}"
