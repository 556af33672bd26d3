"""Every write of the appointments: materialising the slots from the plan, booking a seat,
cancelling, moving, blocking a slot (decision 0473).

Locking, the same way everywhere so that no two writers wait on each other in a circle:
1. on PostgreSQL, the person's advisory locks (e-mail, phone), so that one person's two
   simultaneous bookings are counted one after the other (anti-hoarding);
2. the agent's slots that overlap the one(s) touched, `FOR UPDATE`, ordered by (start, id);
3. the organisation's audit chain head (`record_event`), up to the commit.
On SQLite, transactions are `IMMEDIATE` (settings): writers are serialised from their start,
which gives the same guarantees. On both, the checks of `Slot` and the unique seat of
`Appointment` refuse whatever would slip past a bug."""

from __future__ import annotations

import datetime
import hashlib
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from mairie.core.audit.services import record_event

from . import rules, schedule
from .models import Appointment, AppointmentType, Closure, Slot

LINK_SALT = "mairie.appointments.manage"


class BookingRefused(Exception):
    """A booking, cancellation or move that cannot be done, with the message for the
    resident."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SlotTaken(BookingRefused):
    """Someone else took the slot (or its last seat) first; `next_slots` are the next free
    ones of the same type, to offer at once."""

    def __init__(self, next_slots: list[Slot]):
        super().__init__(_("Ce créneau vient d'être pris par quelqu'un d'autre. Voici les "
                           "prochains créneaux libres."))
        self.next_slots = next_slots


class InvalidLink(BookingRefused):
    def __init__(self):
        super().__init__(_("Ce lien n'est pas valide : il a été modifié ou recopié "
                           "incomplètement. Utilisez le lien reçu par courriel, ou contactez "
                           "la mairie."))


# --- Signed links ----------------------------------------------------------------------


def manage_token(appointment: Appointment) -> str:
    """The token of the resident's link to cancel or move their appointment."""
    return signing.dumps(str(appointment.pk), salt=LINK_SALT)


def appointment_for_token(*, token: str, organisation) -> Appointment:
    """The appointment a link designates, or `InvalidLink` (tampered, truncated, another
    organisation's)."""
    try:
        pk = signing.loads(token, salt=LINK_SALT)
    except signing.BadSignature:
        raise InvalidLink() from None
    appointment = (Appointment.objects.filter(organisation=organisation, pk=pk)
                   .select_related("slot", "appointment_type", "slot__counter").first())
    if appointment is None:
        raise InvalidLink()
    return appointment


# --- Materialising the slots ----------------------------------------------------------


@dataclass
class GenerationReport:
    created: int = 0
    removed: int = 0
    withdrawn: int = 0
    restored: int = 0


def _overlapping(slots: list[Slot], start: datetime.datetime, end: datetime.datetime):
    return [s for s in slots if s.start < end and start < s.end]


def generate_slots(*, appointment_type: AppointmentType, start: datetime.date | None = None,
                   end: datetime.date | None = None) -> GenerationReport:
    """Bring the type's slots between `start` and `end` (inclusive; by default from today to
    its booking horizon) in line with the plan: counters' hours, exceptions and public
    holidays, agents' availabilities and absences. Free slots that left the plan are deleted;
    booked ones (or ones with a history) are kept for their appointments but withdrawn."""
    from .models import AgentAbsence, AgentAvailability, OpeningHours

    organisation = appointment_type.organisation
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(organisation.time_zone))
    start = start or today
    end = end or today + datetime.timedelta(days=appointment_type.max_days_ahead)
    report = GenerationReport()
    counters = list(appointment_type.counters.filter(is_active=True)
                    .select_related("organisation"))
    agents = list(appointment_type.agents.all())
    agent_ids = [agent.pk for agent in agents]
    with transaction.atomic():
        for counter in counters:
            zone = counter.zone
            window_start = datetime.datetime.combine(start, datetime.time.min, tzinfo=zone)
            window_end = datetime.datetime.combine(end + datetime.timedelta(days=1),
                                                   datetime.time.min, tzinfo=zone)
            hours = list(OpeningHours.objects.filter(counter=counter))
            closures = list(Closure.objects.filter(counter=counter, ends_on__gte=start,
                                                   starts_on__lte=end))
            holidays = schedule.public_holidays(counter, start, end)
            open_by_day = {}
            day = start
            while day <= end:
                open_by_day[day] = schedule.counter_ranges(
                    day, hours=hours, closures=closures, holiday=day in holidays)
                day += datetime.timedelta(days=1)
            availabilities = defaultdict(list)
            for availability in AgentAvailability.objects.filter(counter=counter,
                                                                 agent_id__in=agent_ids):
                availabilities[availability.agent_id].append(availability)
            absences = defaultdict(list)
            for absence in AgentAbsence.objects.filter(agent_id__in=agent_ids,
                                                       ends_at__gt=window_start,
                                                       starts_at__lt=window_end):
                absences[absence.agent_id].append(absence)
            for agent in agents:
                planned = []
                for day, open_ranges in open_by_day.items():
                    if not open_ranges:
                        continue
                    ranges = schedule.intersection(
                        open_ranges, schedule.agent_ranges(
                            day, availabilities=availabilities[agent.pk],
                            absences=absences[agent.pk], zone=zone))
                    planned += schedule.cut_into_slots(ranges, appointment_type.duration,
                                                       zone)
                _apply_plan(appointment_type=appointment_type, counter=counter, agent=agent,
                            planned=planned, window=(window_start, window_end), report=report)
        if report.created or report.removed or report.withdrawn or report.restored:
            record_event(organisation=organisation, action="appointments.slots_generated",
                         obj=appointment_type,
                         details={"from": start.isoformat(), "to": end.isoformat(),
                                  "created": report.created, "removed": report.removed,
                                  "withdrawn": report.withdrawn, "restored": report.restored})
    return report


def _apply_plan(*, appointment_type, counter, agent, planned, window, report) -> None:
    window_start, window_end = window
    # Every slot of the agent in the window, locked in the order bookings lock them: a slot
    # created here then counts the holds of the agent's bookings, committed or not.
    agent_slots = list(Slot.objects.select_for_update()
                       .filter(agent=agent, start__lt=window_end, end__gt=window_start)
                       .order_by("start", "pk"))
    mine = {s.start: s for s in agent_slots
            if s.appointment_type_id == appointment_type.pk and s.counter_id == counter.pk}
    wanted = {slot_start: slot_end for slot_start, slot_end in planned}
    gone = [s for moment, s in mine.items() if moment not in wanted
            or s.end != wanted[moment]]
    with_history = set(Appointment.objects.filter(slot__in=gone)
                       .values_list("slot_id", flat=True))
    deleted = [s.pk for s in gone if s.booked == 0 and s.pk not in with_history]
    if deleted:
        Slot.objects.filter(pk__in=deleted, booked=0).delete()
        report.removed += len(deleted)
    kept = [s.pk for s in gone if s.pk not in set(deleted) and not s.withdrawn]
    if kept:
        report.withdrawn += Slot.objects.filter(pk__in=kept).update(withdrawn=True)
    back = [s.pk for moment, s in mine.items() if s.withdrawn and moment in wanted
            and s.end == wanted[moment]]
    if back:
        report.restored += Slot.objects.filter(pk__in=back).update(withdrawn=False)
    if appointment_type.capacity:
        Slot.objects.filter(pk__in=[s.pk for s in mine.values()],
                            booked__lte=appointment_type.capacity).exclude(
            capacity=appointment_type.capacity).update(capacity=appointment_type.capacity)
    booked = [s for s in agent_slots if s.booked > 0 and s.pk not in set(deleted)]
    new = []
    for slot_start, slot_end in planned:
        existing = mine.get(slot_start)
        if existing is not None and existing.end == slot_end:
            continue
        if existing is not None:  # same start, another length: the old one was just handled
            continue
        new.append(Slot(organisation_id=appointment_type.organisation_id,
                        appointment_type=appointment_type, counter=counter, agent=agent,
                        start=slot_start, end=slot_end, capacity=appointment_type.capacity,
                        holds=len(_overlapping(booked, slot_start, slot_end))))
    if new:
        Slot.objects.bulk_create(new, batch_size=500)
        report.created += len(new)


@transaction.atomic
def block_slot(*, actor, slot: Slot, blocked: bool = True) -> Slot:
    """An agent takes a free slot out of the offer (a meeting, a long file), or gives it
    back. Existing bookings stay."""
    if not rules.may_block(actor, slot):
        raise PermissionDenied
    Slot.objects.filter(pk=slot.pk).update(blocked=blocked)
    slot.blocked = blocked
    record_event(organisation=slot.organisation, actor=actor, obj=slot,
                 action="appointments.slot_blocked" if blocked
                 else "appointments.slot_unblocked")
    return slot


# --- Booking ----------------------------------------------------------------------------


@dataclass
class Person:
    name: str
    email: str
    phone: str = ""
    account: Any = None  # the resident's User, if they booked with their account
    email_key: str = field(init=False, default="")
    phone_key: str = field(init=False, default="")


def _person(*, organisation, account, name: str, email: str, phone: str) -> Person:
    if account is not None:
        name = name or account.get_full_name() or account.email
        email = email or account.email
    name, email, phone = name.strip(), email.strip(), phone.strip()
    if not name or not email or (account is None and not phone):
        raise BookingRefused(_("Indiquez votre nom, votre courriel et votre téléphone pour "
                               "réserver sans compte."))
    person = Person(name=name[:200], email=email, phone=phone, account=account)
    person.email_key = email.lower()
    if phone:
        try:
            number = phonenumbers.parse(phone, organisation.country)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise BookingRefused(_("Ce numéro de téléphone n'est pas valide : "
                                   "%(phone)s.") % {"phone": phone})
        person.phone_key = phonenumbers.format_number(number,
                                                      phonenumbers.PhoneNumberFormat.E164)
    return person


def _lock_person(person: Person) -> None:
    """Serialise one person's bookings on PostgreSQL (SQLite serialises every writer)."""
    if connection.vendor != "postgresql":
        return
    keys = sorted(key for key in (person.email_key, person.phone_key,
                                  str(getattr(person.account, "pk", "") or "")) if key)
    with connection.cursor() as cursor:
        for key in keys:
            digest = hashlib.blake2b(f"appointments:{key}".encode(), digest_size=8).digest()
            cursor.execute("SELECT pg_advisory_xact_lock(%s)",
                           [int.from_bytes(digest, "big", signed=True)])


def _lock_agent_slots(slots: list[Slot]) -> dict:
    """Lock the given slots and every slot of their agents overlapping them, in (start, id)
    order; return them by id, fresh from the database."""
    condition = Q()
    for slot in slots:
        condition |= Q(agent_id=slot.agent_id, start__lt=slot.end, end__gt=slot.start)
    rows = Slot.objects.select_for_update().filter(condition).order_by("start", "pk")
    return {row.pk: row for row in rows}


def _check_window(slot: Slot, appointment_type: AppointmentType, now) -> None:
    if slot.start <= now:
        raise BookingRefused(_("Ce créneau est déjà passé : choisissez-en un autre."))
    if slot.start < now + datetime.timedelta(hours=appointment_type.min_notice_hours):
        raise BookingRefused(
            _("Ce créneau est trop proche : ce rendez-vous se réserve au moins %(hours)s h "
              "à l'avance.") % {"hours": appointment_type.min_notice_hours})
    if slot.start > now + datetime.timedelta(days=appointment_type.max_days_ahead):
        raise BookingRefused(
            _("Ce créneau n'est pas encore ouvert : ce rendez-vous se réserve au plus "
              "%(days)s jours à l'avance.") % {"days": appointment_type.max_days_ahead})


def _check_hoarding(person: Person, appointment_type: AppointmentType, now,
                    exclude=None) -> None:
    same_person = Q(email_key=person.email_key)
    if person.phone_key:
        same_person |= Q(phone_key=person.phone_key)
    if person.account is not None:
        same_person |= Q(account=person.account)
    future = (Appointment.objects.filter(same_person, appointment_type=appointment_type,
                                         status=Appointment.Status.BOOKED,
                                         starts_at__gt=now))
    if exclude is not None:
        future = future.exclude(pk=exclude.pk)
    if future.count() >= appointment_type.max_future_per_person:
        raise BookingRefused(
            _("Vous avez déjà %(count)s rendez-vous « %(type)s » à venir, le maximum pour "
              "une même personne. Annulez-en un pour en prendre un autre.")
            % {"count": appointment_type.max_future_per_person, "type": appointment_type})


def _take_seat(slot: Slot, locked: dict) -> int:
    """Take a seat of `slot` (already locked with its overlaps), or raise `_Full`."""
    row = locked[slot.pk]
    if not row.is_free:
        raise _Full
    if not Slot.objects.filter(pk=row.pk, booked__lt=F("capacity"), holds=0,
                               blocked=False, withdrawn=False).update(booked=F("booked") + 1):
        raise _Full
    if row.booked == 0:  # the agent is now busy then: hold their other overlapping slots
        _change_holds(row, locked, +1)
    row.booked += 1
    taken = set(Appointment.objects.filter(slot=row, status=Appointment.Status.BOOKED)
                .values_list("seat", flat=True))
    return next(seat for seat in range(row.capacity) if seat not in taken)


def _release_seat(slot: Slot, locked: dict) -> None:
    row = locked[slot.pk]
    Slot.objects.filter(pk=row.pk).update(booked=F("booked") - 1)
    row.booked -= 1
    if row.booked == 0:
        _change_holds(row, locked, -1)


def _change_holds(row: Slot, locked: dict, step: int) -> None:
    """The agent of `row` became busy (+1) or free again (-1) over its time: so do their
    other overlapping slots (any type, any counter)."""
    others = [other for pk, other in locked.items() if pk != row.pk
              and other.agent_id == row.agent_id and other.start < row.end
              and row.start < other.end]
    Slot.objects.filter(pk__in=[other.pk for other in others]).update(holds=F("holds") + step)
    for other in others:
        other.holds += step


class _Full(Exception):
    pass


def _taken(appointment_type: AppointmentType, after) -> SlotTaken:
    from .queries import next_free_slots

    return SlotTaken(next_free_slots(appointment_type, after=after, limit=5))


def book_appointment(*, appointment_type: AppointmentType, slot: Slot, account=None,
                     name: str = "", email: str = "", phone: str = "", actor=None,
                     request: HttpRequest | None = None) -> Appointment:
    """Book one seat of `slot` for a resident — with their account, or with name, e-mail
    and phone — in one transaction. `actor` is who books: the resident themself (or None,
    without an account), or an agent on the phone or at the counter. Raises `SlotTaken`
    (with the next free slots) when someone was faster, `BookingRefused` otherwise."""
    organisation = appointment_type.organisation
    if slot.appointment_type_id != appointment_type.pk or \
            slot.organisation_id != appointment_type.organisation_id:
        raise BookingRefused(_("Ce créneau ne correspond pas à ce rendez-vous."))
    if actor is not None and actor != account and \
            not rules.books_for_residents(actor, organisation):
        raise PermissionDenied
    if not appointment_type.is_active:
        raise BookingRefused(_("Ce rendez-vous ne se réserve plus en ligne."))
    person = _person(organisation=organisation, account=account, name=name, email=email,
                     phone=phone)
    now = timezone.now()
    _check_window(slot, appointment_type, now)
    try:
        with transaction.atomic():
            _lock_person(person)
            locked = _lock_agent_slots([slot])
            _check_hoarding(person, appointment_type, now)
            seat = _take_seat(slot, locked)
            appointment = Appointment.objects.create(
                organisation=organisation, slot=slot, seat=seat, account=person.account,
                name=person.name, email=person.email, phone=person.phone,
                email_key=person.email_key, phone_key=person.phone_key,
                booked_by=actor, appointment_type=appointment_type, starts_at=slot.start)
            record_event(organisation=organisation, action="appointments.booked",
                         actor=actor, obj=appointment, request=request,
                         details={"slot": str(slot.pk), "type": str(appointment_type.pk),
                                  "start": slot.start.isoformat(), "seat": seat})
    except (_Full, IntegrityError):
        raise _taken(appointment_type, now) from None
    return appointment


def _may_manage(actor, appointment: Appointment) -> bool:
    """The resident holding the signed link (actor None), the account that booked it, or an
    agent of the organisation."""
    return (actor is None or (appointment.account_id and actor.pk == appointment.account_id)
            or rules.books_for_residents(actor, appointment.organisation))


def cancel_appointment(*, appointment: Appointment, actor=None,
                       request: HttpRequest | None = None) -> Appointment:
    """Cancel a booked appointment and free its seat (and the agent's time). With `actor`
    None, the caller has checked the signed link (`appointment_for_token`)."""
    if not _may_manage(actor, appointment):
        raise PermissionDenied
    now = timezone.now()
    with transaction.atomic():
        current = Appointment.objects.select_for_update().select_related("slot").get(
            pk=appointment.pk)
        if current.status == Appointment.Status.CANCELLED:
            raise BookingRefused(_("Ce rendez-vous est déjà annulé."))
        if current.starts_at <= now:
            raise BookingRefused(_("Ce rendez-vous est déjà passé : il ne peut plus être "
                                   "annulé."))
        locked = _lock_agent_slots([current.slot])
        _release_seat(current.slot, locked)
        Appointment.objects.filter(pk=current.pk).update(
            status=Appointment.Status.CANCELLED, cancelled_at=now)
        record_event(organisation=current.organisation, action="appointments.cancelled",
                     actor=actor, obj=current, request=request,
                     details={"slot": str(current.slot_id)})
    appointment.status, appointment.cancelled_at = Appointment.Status.CANCELLED, now
    return appointment


def move_appointment(*, appointment: Appointment, slot: Slot, actor=None,
                     request: HttpRequest | None = None) -> Appointment:
    """Move a booked appointment to another slot of the same type, in one transaction: the
    appointment stays where it was when the new slot cannot be had."""
    if not _may_manage(actor, appointment):
        raise PermissionDenied
    appointment_type = appointment.appointment_type
    if slot.appointment_type_id != appointment_type.pk:
        raise BookingRefused(_("Ce créneau ne correspond pas à ce rendez-vous."))
    if slot.pk == appointment.slot_id:
        raise BookingRefused(_("Le rendez-vous est déjà sur ce créneau."))
    now = timezone.now()
    _check_window(slot, appointment_type, now)
    try:
        with transaction.atomic():
            current = Appointment.objects.select_for_update().select_related("slot").get(
                pk=appointment.pk)
            if current.status != Appointment.Status.BOOKED:
                raise BookingRefused(_("Ce rendez-vous est annulé : réservez-en un nouveau."))
            if current.starts_at <= now:
                raise BookingRefused(_("Ce rendez-vous est déjà passé : il ne peut plus être "
                                       "déplacé."))
            locked = _lock_agent_slots([current.slot, slot])
            old_slot = current.slot
            # Freed first (an agent's overlapping slot becomes bookable again); a refusal
            # rolls both back.
            _release_seat(old_slot, locked)
            seat = _take_seat(slot, locked)
            Appointment.objects.filter(pk=current.pk).update(slot=slot, seat=seat,
                                                            starts_at=slot.start)
            record_event(organisation=current.organisation, action="appointments.moved",
                         actor=actor, obj=current, request=request,
                         details={"from": str(old_slot.pk), "to": str(slot.pk),
                                  "start": slot.start.isoformat()})
    except (_Full, IntegrityError):
        raise _taken(appointment_type, now) from None
    appointment.slot, appointment.seat, appointment.starts_at = slot, seat, slot.start
    return appointment

