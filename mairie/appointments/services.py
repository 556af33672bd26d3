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
import random
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from mairie.core.audit.services import appended_at_the_end, record_event

from . import rules, schedule, services_resident
from .models import AGENT_NOTE_MAX_LENGTH, Appointment, AppointmentType, Closure, Slot

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
        super().__init__(_("Ce créneau vient d'être pris par quelqu'un d'autre. Voici "
                           "d'autres créneaux libres, à partir de l'heure choisie."))
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
    if not blocked:  # a seat may be free again: the waiting list is told after the commit
        services_resident.after_unblocked(slot)
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


def _check_window(slot: Slot, appointment_type: AppointmentType, now, *,
                  notice: bool = True) -> None:
    """Refuse a past slot, one beyond the type's horizon and — unless `notice` is False (a
    desk booking, decision 0495) — one closer than its minimal notice."""
    if slot.start <= now:
        raise BookingRefused(_("Ce créneau est déjà passé : choisissez-en un autre."))
    if notice and slot.start < now + datetime.timedelta(
            hours=appointment_type.min_notice_hours):
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


def _still_free(slot: Slot) -> bool:
    """Whether `slot` has a seat left now (read from the database, not from `slot`)."""
    return Slot.objects.filter(pk=slot.pk, booked__lt=F("capacity"), holds=0, blocked=False,
                               withdrawn=False).exists()


def _taken(appointment_type: AppointmentType, near: datetime.datetime, *,
           notice: bool = True) -> SlotTaken:
    """`SlotTaken` with free slots from the time the resident wanted (`near`), drawn so that
    the losers of a rush spread over the day rather than all chase the same first slots
    (`queries.alternatives`, decision 0497; without the minimal notice for a desk booking,
    decision 0495)."""
    from .queries import alternatives

    slots = alternatives(appointment_type, near, notice=notice)
    return SlotTaken(slots)


def book_appointment(*, appointment_type: AppointmentType, slot: Slot, account=None,
                     name: str = "", email: str = "", phone: str = "", actor=None,
                     request: HttpRequest | None = None,
                     channel: str = Appointment.Channel.ONLINE) -> Appointment:
    """Book one seat of `slot` for a resident — with their account, or with name, e-mail
    and phone — in one transaction. `actor` is who books: the resident themself (or None,
    without an account), or an agent on the phone or at the counter. Raises `SlotTaken`
    (with the next free slots) when someone was faster, `BookingRefused` otherwise.

    A booking on the phone or at the counter (`DESK_CHANNELS`) is an agent's, and skips the
    online minimal notice: the person at the counter may be received in 20 minutes (decision
    0495). Past slots and slots beyond the horizon are refused on every channel."""
    organisation = appointment_type.organisation
    if slot.appointment_type_id != appointment_type.pk or \
            slot.organisation_id != appointment_type.organisation_id:
        raise BookingRefused(_("Ce créneau ne correspond pas à ce rendez-vous."))
    if actor is not None and actor != account and \
            not rules.books_for_residents(actor, organisation):
        raise PermissionDenied
    at_the_desk = channel in DESK_CHANNELS
    if at_the_desk and (actor is None or not rules.books_for_residents(actor, organisation)):
        raise PermissionDenied
    if not appointment_type.is_active:
        raise BookingRefused(_("Ce rendez-vous ne se réserve plus en ligne."))
    person = _person(organisation=organisation, account=account, name=name, email=email,
                     phone=phone)
    now = timezone.now()
    _check_window(slot, appointment_type, now, notice=not at_the_desk)
    # A resident chose a time and a place, not an agent: when the slot went, another agent's
    # free slot at the same time and counter is as good (decision 0499). The desk books the
    # agent's slot it chose.
    def targets():
        yield slot
        if not at_the_desk:  # read only when the chosen one went
            yield from _equivalent_free_slots(slot)

    for target in targets():
        # In a rush most attempts are on a slot already gone: a fresh read without any lock
        # turns them away at once, so that the locks are only waited for by those who may
        # still win.
        if not _still_free(target):
            continue
        try:
            return _take_appointment(target, appointment_type, person, actor=actor,
                                     channel=channel, request=request, now=now)
        except (_Full, IntegrityError):
            continue
    raise _taken(appointment_type, slot.start, notice=not at_the_desk)


EQUIVALENT_TRIES = 3


def _equivalent_free_slots(slot: Slot) -> list[Slot]:
    """Up to EQUIVALENT_TRIES other free slots of the same type, counter and times as
    `slot` (other agents'), in random order so that the people who lost `slot` together do
    not all try the same one next."""
    pks = list(Slot.objects.filter(
        appointment_type_id=slot.appointment_type_id, counter_id=slot.counter_id,
        start=slot.start, end=slot.end, blocked=False, withdrawn=False, holds=0,
        booked__lt=F("capacity")).exclude(pk=slot.pk).values_list("pk", flat=True)[:20])
    chosen = random.sample(pks, min(EQUIVALENT_TRIES, len(pks)))  # noqa: S311 — a spread
    by_pk = Slot.objects.in_bulk(chosen)
    return [by_pk[pk] for pk in chosen if pk in by_pk]


def _take_appointment(slot: Slot, appointment_type: AppointmentType, person: Person, *,
                      actor, channel: str, request: HttpRequest | None,
                      now: datetime.datetime) -> Appointment:
    """One seat of `slot` for `person`, in one transaction; `_Full` or `IntegrityError`
    when it went meanwhile. The audit event is chained at the end of the block: the
    organisation's chain head, which every audited writer of the organisation waits for,
    stays locked from there to the commit only, not while the seat is taken
    (bench/appointments_burst.py)."""
    organisation = appointment_type.organisation
    with transaction.atomic(), appended_at_the_end():
        _lock_person(person)
        locked = _lock_agent_slots([slot])
        _check_hoarding(person, appointment_type, now)
        seat = _take_seat(slot, locked)
        appointment = Appointment.objects.create(
            organisation=organisation, slot=slot, seat=seat, account=person.account,
            name=person.name, email=person.email, phone=person.phone,
            email_key=person.email_key, phone_key=person.phone_key,
            booked_by=actor, appointment_type=appointment_type, starts_at=slot.start,
            channel=channel)
        record_event(organisation=organisation, action="appointments.booked",
                     actor=actor, obj=appointment, request=request,
                     details={"slot": str(slot.pk), "type": str(appointment_type.pk),
                              "start": slot.start.isoformat(), "seat": seat})
        services_resident.after_booked(appointment, request=request)
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
        services_resident.after_cancelled(current, request=request)
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
            services_resident.after_moved(current, old_slot_id=old_slot.pk, request=request)
    except (_Full, IntegrityError):
        raise _taken(appointment_type, now) from None
    appointment.slot, appointment.seat, appointment.starts_at = slot, seat, slot.start
    return appointment



# --- The agents' desk (decision 0485) ----------------------------------------------------
# What an agent does at the desk of a counter: note who arrived or did not come (and undo
# it), take slots out of the offer, book or cancel for a resident on the phone or at the
# counter, link an appointment to a dossier. Each checks `rules.works_at_desk` and is
# audited; attendance and dossier changes compare what the agent saw with the row, locked,
# so that two agents at the same desk never silently overwrite each other (decision 0487).


class StaleDesk(BookingRefused):
    """Someone else changed the appointment since the page was read; `current` is it now."""

    def __init__(self, message: str, current: Appointment):
        super().__init__(message)
        self.current = current


DESK_CHANNELS = (Appointment.Channel.PHONE, Appointment.Channel.COUNTER)
_ATTENDANCE_ACTIONS: dict[str, str] = {
    Appointment.Attendance.ARRIVED: "appointments.checked_in",
    Appointment.Attendance.NO_SHOW: "appointments.no_show",
    Appointment.Attendance.EXPECTED: "appointments.attendance_undone",
}


def _desk_check(actor, counter) -> None:
    if not rules.works_at_desk(actor, counter):
        raise PermissionDenied


def set_attendance(*, actor, appointment: Appointment, attendance: str, expected: str,
                   request: HttpRequest | None = None) -> Appointment:
    """Note that the resident arrived (from the day of the appointment), did not come (once
    its time has passed), or undo either. `expected` is the attendance the agent saw: when
    another agent noted something meanwhile, `StaleDesk` says what and nothing is written."""
    _desk_check(actor, appointment.slot.counter)
    if attendance not in _ATTENDANCE_ACTIONS:
        raise BookingRefused(_("Cette présence n'existe pas."))
    now = timezone.now()
    with transaction.atomic():
        current = (Appointment.objects.select_for_update(of=("self",))
                   .select_related("attendance_by").get(pk=appointment.pk))
        if current.status != Appointment.Status.BOOKED:
            raise BookingRefused(_("Ce rendez-vous est annulé : sa présence ne se note pas."))
        if current.attendance != expected:
            who = current.attendance_by or _("un autre agent")
            raise StaleDesk(_("Entre-temps, %(who)s a noté « %(state)s » pour ce rendez-vous : "
                              "rien n'a été changé. Vérifiez puis recommencez si besoin.")
                            % {"who": who, "state": current.get_attendance_display()},
                            current)
        if attendance == current.attendance:
            raise BookingRefused(_("C'est déjà noté."))
        zone = appointment.slot.counter.zone
        if attendance == Appointment.Attendance.ARRIVED and \
                timezone.localdate(current.starts_at, zone) > timezone.localdate(now, zone):
            raise BookingRefused(_("Ce rendez-vous n'est pas aujourd'hui : l'arrivée se note "
                                   "le jour du rendez-vous."))
        if attendance == Appointment.Attendance.NO_SHOW and current.starts_at > now:
            raise BookingRefused(_("L'absence se note une fois l'heure du rendez-vous "
                                   "passée."))
        undo = attendance == Appointment.Attendance.EXPECTED
        Appointment.objects.filter(pk=current.pk).update(
            attendance=attendance, attendance_at=None if undo else now,
            attendance_by=None if undo else actor, updated_at=now)
        record_event(organisation=current.organisation, action=_ATTENDANCE_ACTIONS[attendance],
                     actor=actor, obj=current, request=request,
                     details={"from": current.attendance, "to": attendance})
    appointment.attendance = attendance
    appointment.attendance_at = None if attendance == Appointment.Attendance.EXPECTED else now
    appointment.attendance_by = None if attendance == Appointment.Attendance.EXPECTED else actor
    return appointment


def desk_block_slot(*, actor, slot: Slot, blocked: bool) -> Slot:
    """Take a slot out of the offer (or give it back) from the desk: the slot's own agent,
    or a manager, director, mediator or administrator — who works that desk."""
    _desk_check(actor, slot.counter)
    if slot.withdrawn:
        raise BookingRefused(_("Ce créneau n'est plus au planning : il ne se bloque plus."))
    if slot.blocked == blocked:
        raise BookingRefused(_("Ce créneau est déjà bloqué.") if blocked
                             else _("Ce créneau est déjà ouvert."))
    return block_slot(actor=actor, slot=slot, blocked=blocked)


def desk_book(*, actor, slot: Slot, name: str, email: str, phone: str, channel: str,
              request: HttpRequest | None = None) -> Appointment:
    """Book for a resident on the phone or at the counter: the resident's own rules (the
    horizon, the per-person limit) but not the online minimal notice (decision 0495);
    `SlotTaken` with the next free slots, near ones included, when it went."""
    _desk_check(actor, slot.counter)
    if channel not in DESK_CHANNELS:
        raise BookingRefused(_("Indiquez si la personne appelle ou est à l'accueil."))
    return book_appointment(appointment_type=slot.appointment_type, slot=slot, name=name,
                            email=email, phone=phone, actor=actor, request=request,
                            channel=channel)


def desk_cancel(*, actor, appointment: Appointment,
                request: HttpRequest | None = None) -> Appointment:
    _desk_check(actor, appointment.slot.counter)
    return cancel_appointment(appointment=appointment, actor=actor, request=request)


def link_dossier(*, actor, appointment: Appointment, dossier, expected_dossier_id: str,
                 request: HttpRequest | None = None) -> Appointment:
    """Link the appointment to a dossier of its organisation (or unlink it, `dossier`
    None). The caller found `dossier` among those `actor` may read
    (`queries.linkable_dossier`). `expected_dossier_id` is the link the agent saw ("" for
    none)."""
    _desk_check(actor, appointment.slot.counter)
    if dossier is not None and dossier.organisation_id != appointment.organisation_id:
        raise PermissionDenied
    with transaction.atomic():
        current = (Appointment.objects.select_for_update(of=("self",)).select_related("dossier")
                   .get(pk=appointment.pk))
        if str(current.dossier_id or "") != (expected_dossier_id or ""):
            raise StaleDesk(_("Entre-temps, un autre agent a changé le dossier lié à ce "
                              "rendez-vous : rien n'a été changé. Vérifiez puis recommencez "
                              "si besoin."), current)
        Appointment.objects.filter(pk=current.pk).update(dossier=dossier,
                                                         updated_at=timezone.now())
        record_event(organisation=current.organisation, actor=actor, obj=current,
                     request=request,
                     action="appointments.dossier_linked" if dossier is not None
                     else "appointments.dossier_unlinked",
                     details={"dossier": str(dossier.pk) if dossier is not None
                              else str(current.dossier_id or ""),
                              "number": dossier.number if dossier is not None
                              else getattr(current.dossier, "number", "")})
    appointment.dossier = dossier
    return appointment


def plain_note(note: str) -> str:
    """A note as stored and compared: line breaks as « \\n » (a browser sends a textarea's
    as « \\r\\n », and a hidden field may come back with either), no surrounding spaces."""
    return (note or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def set_agent_note(*, actor, appointment: Appointment, note: str, seen: str,
                   request: HttpRequest | None = None) -> Appointment:
    """Write the agents' note of the appointment (what to bring, a call back; never shown
    to the resident). `seen` is the note the agent read: when another agent changed it
    meanwhile, `StaleDesk` carries the current one and nothing is written. Audited with the
    note's length, not its text."""
    _desk_check(actor, appointment.slot.counter)
    note = plain_note(note)
    if len(note) > AGENT_NOTE_MAX_LENGTH:
        raise ValidationError({"note": _("La note fait %(length)s caractères : %(max)s au "
                                         "plus.") % {"length": len(note),
                                                     "max": AGENT_NOTE_MAX_LENGTH}})
    with transaction.atomic():
        current = Appointment.objects.select_for_update(of=("self",)).get(pk=appointment.pk)
        if plain_note(current.agent_note) != plain_note(seen):
            raise StaleDesk(_("Entre-temps, un autre agent a changé la note de ce "
                              "rendez-vous : rien n'a été enregistré. La note actuelle est "
                              "affichée ; votre texte est gardé dans le champ, enregistrez-le "
                              "à nouveau pour remplacer la note actuelle."), current)
        if note != current.agent_note:
            Appointment.objects.filter(pk=current.pk).update(agent_note=note,
                                                             updated_at=timezone.now())
            record_event(organisation=current.organisation, actor=actor, obj=current,
                         request=request, action="appointments.note_changed",
                         details={"length": len(note)})
    appointment.agent_note = note
    return appointment


def record_desk_export(*, actor, organisation, counters, day: datetime.date, rows: int,
                       request: HttpRequest | None = None) -> None:
    """The day's list leaves the application with names, phones and e-mails: audited."""
    for counter in counters:
        _desk_check(actor, counter)
    record_event(organisation=organisation, actor=actor, request=request,
                 action="appointments.desk_exported", object_type="appointments.day",
                 object_id=day.isoformat(), object_label=day.strftime("%d/%m/%Y"),
                 details={"counters": [str(counter.pk) for counter in counters],
                          "day": day.isoformat(), "rows": rows})


# --- The plan's administration (decision 0486) -------------------------------------------
# Counters, weekly hours, exceptions, types, agents' availabilities and absences, written by
# `rules.may_plan` holders, validated and audited here. The receivers (`receivers.py`)
# regenerate the affected types' slots after the commit; a counter's own settings (time
# zone, holidays, open or not) have no receiver and are regenerated from here. Counters and
# types carry their `updated_at` as the form's version (decision 0487).


class StalePlan(Exception):
    """The counter or type changed since the form was read; `current` is it now."""

    def __init__(self, current):
        super().__init__("stale")
        self.current = current


def _plan_check(actor, organisation) -> None:
    if not rules.may_plan(actor, organisation):
        raise PermissionDenied


def version_of(obj) -> str:
    return obj.updated_at.isoformat() if obj is not None and obj.updated_at else ""


def _regenerate_types(type_ids) -> None:
    from .tasks import regenerate_slots

    ids = sorted({str(pk) for pk in type_ids})
    if ids:
        transaction.on_commit(lambda: regenerate_slots.delay(ids))


def _validate_subdivision(organisation, subdivision: str) -> None:
    import holidays

    if not subdivision:
        return
    try:
        known = holidays.country_holidays(organisation.country).subdivisions
    except NotImplementedError:
        known = ()
    if subdivision not in known:
        raise ValidationError({"holiday_subdivision": _(
            "Cette subdivision n'existe pas pour le pays de la collectivité. Subdivisions "
            "possibles : %(known)s.") % {"known": ", ".join(known) or _("aucune")}})


COUNTER_FIELDS = ("name", "address", "time_zone", "holiday_subdivision", "is_active")


@transaction.atomic
def save_counter(*, actor, organisation, values: dict, counter=None, expected_version="",
                 request: HttpRequest | None = None):
    """Create a counter, or change one (its `updated_at` must still be `expected_version`)."""
    from .models import Counter

    _plan_check(actor, organisation)
    _validate_subdivision(organisation, values.get("holiday_subdivision", ""))
    if counter is None:
        counter = Counter(organisation=organisation)
        changed = list(COUNTER_FIELDS)
    else:
        counter = Counter.objects.select_for_update().get(pk=counter.pk,
                                                          organisation=organisation)
        if version_of(counter) != expected_version:
            raise StalePlan(counter)
        changed = [name for name in COUNTER_FIELDS if getattr(counter, name) != values[name]]
    for name in COUNTER_FIELDS:
        setattr(counter, name, values[name])
    counter.full_clean()
    created = counter._state.adding
    counter.save()
    record_event(organisation=organisation, actor=actor, obj=counter, request=request,
                 action="appointments.counter_created" if created
                 else "appointments.counter_changed", details={"fields": changed})
    if not created and "is_active" in changed and not counter.is_active:
        _withdraw_counter_slots(counter)
    if not created and changed:
        _regenerate_types(AppointmentType.objects.filter(counters=counter)
                          .values_list("pk", flat=True))
    return counter


def _withdraw_counter_slots(counter) -> None:
    """A counter closed to appointments: the generation skips it, so its future free slots
    are deleted here and its booked ones withdrawn (kept for their appointments)."""
    future = Slot.objects.filter(counter=counter, start__gt=timezone.now())
    with_history = Appointment.objects.filter(slot__in=future).values("slot_id")
    future.filter(booked=0).exclude(pk__in=with_history).delete()
    future.update(withdrawn=True)


def _overlaps(ranges) -> bool:
    from itertools import pairwise

    return any(later[0] < earlier[1] for earlier, later in pairwise(sorted(ranges)))


@transaction.atomic
def save_opening_hours(*, actor, counter, ranges: list[tuple[int, datetime.time,
                                                             datetime.time]],
                       expected_version: str, request: HttpRequest | None = None):
    """Replace the counter's weekly hours by `ranges` (weekday, start, end). Ranges of one
    day must not overlap. Each row saved or deleted triggers the slots' regeneration."""
    from .models import Counter, OpeningHours, Weekday

    _plan_check(actor, counter.organisation)
    locked = Counter.objects.select_for_update().get(pk=counter.pk)
    if version_of(locked) != expected_version:
        raise StalePlan(locked)
    errors = []
    for weekday, start, end in ranges:
        if not start < end:
            errors.append(_("%(day)s : l'heure de fin (%(end)s) doit être après celle de début "
                            "(%(start)s).") % {"day": Weekday(weekday).label,
                                               "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"})
    for weekday in sorted({weekday for weekday, _s, _e in ranges}):
        if _overlaps([(s, e) for day, s, e in ranges if day == weekday]):
            errors.append(_("%(day)s : deux plages horaires se chevauchent.")
                          % {"day": Weekday(weekday).label})
    if errors:
        raise ValidationError(errors)
    wanted = {(weekday, start, end) for weekday, start, end in ranges}
    existing = list(OpeningHours.objects.filter(counter=locked))
    have = {(row.weekday, row.start, row.end) for row in existing}
    for row in existing:
        if (row.weekday, row.start, row.end) not in wanted:
            row.delete()
    for weekday, start, end in sorted(wanted - have):
        OpeningHours.objects.create(counter=locked, weekday=weekday, start=start, end=end)
    locked.save(update_fields=["updated_at"])
    record_event(organisation=locked.organisation, actor=actor, obj=locked, request=request,
                 action="appointments.hours_changed",
                 details={"hours": [f"{weekday} {start:%H:%M}-{end:%H:%M}"
                                    for weekday, start, end in sorted(wanted)]})
    return locked


@transaction.atomic
def add_closure(*, actor, counter, values: dict, request: HttpRequest | None = None):
    from .models import Closure

    _plan_check(actor, counter.organisation)
    closure = Closure(counter=counter, **values)
    if closure.starts_on and closure.ends_on and closure.ends_on < closure.starts_on:
        raise ValidationError({"ends_on": _("La date de fin doit être le jour de début ou "
                                            "après.")})
    if (closure.start is None) != (closure.end is None):
        raise ValidationError({"end": _("Indiquez les deux heures, ou aucune pour toute la "
                                        "journée.")})
    # Both hours or neither (just above).
    if closure.start is not None and closure.end is not None and \
            not closure.start < closure.end:
        raise ValidationError({"end": _("L'heure de fin doit être après celle de début.")})
    if closure.kind == Closure.Kind.OPEN and closure.start is None:
        raise ValidationError({"start": _("Une ouverture exceptionnelle a besoin de ses "
                                          "heures.")})
    closure.full_clean()
    closure.save()
    record_event(organisation=counter.organisation, actor=actor, obj=counter, request=request,
                 action="appointments.closure_added",
                 details={"closure": closure.pk, "kind": closure.kind,
                          "from": closure.starts_on.isoformat(),
                          "to": closure.ends_on.isoformat()})
    return closure


@transaction.atomic
def delete_plan_row(*, actor, row, request: HttpRequest | None = None) -> None:
    """Delete an exception, an availability or an absence (its receiver regenerates)."""
    from .models import AgentAbsence

    organisation = (row.agent.organisation if isinstance(row, AgentAbsence)
                    else row.counter.organisation)
    _plan_check(actor, organisation)
    label, kind = str(row), row._meta.model_name
    row.delete()
    record_event(organisation=organisation, actor=actor, request=request,
                 action=f"appointments.{kind}_deleted", object_type=f"appointments.{kind}",
                 object_label=label)


TYPE_FIELDS = ("name", "description", "duration_minutes", "capacity", "min_notice_hours",
               "max_days_ahead", "max_future_per_person", "is_active")


@transaction.atomic
def save_type(*, actor, organisation, values: dict, counters, agents, appointment_type=None,
              expected_version="", request: HttpRequest | None = None):
    """Create or change a type with its counters and agents (both of `organisation`)."""
    from django.contrib.auth import get_user_model

    _plan_check(actor, organisation)
    counters, agents = list(counters), list(agents)
    if any(counter.organisation_id != organisation.pk for counter in counters) or any(
            agent.organisation_id != organisation.pk for agent in agents):
        raise PermissionDenied
    if not get_user_model().objects.filter(pk__in=[a.pk for a in agents],
                                           memberships__isnull=False).distinct().count() \
            == len(agents):
        raise ValidationError({"agents": _("Choisissez des agents de la collectivité.")})
    if appointment_type is None:
        appointment_type = AppointmentType(organisation=organisation)
    else:
        appointment_type = AppointmentType.objects.select_for_update().get(
            pk=appointment_type.pk, organisation=organisation)
        if version_of(appointment_type) != expected_version:
            raise StalePlan(appointment_type)
    created = appointment_type._state.adding
    for name in TYPE_FIELDS:
        setattr(appointment_type, name, values[name])
    appointment_type.full_clean()
    appointment_type.save()
    appointment_type.counters.set(counters)
    appointment_type.agents.set(agents)
    record_event(organisation=organisation, actor=actor, obj=appointment_type,
                 request=request,
                 action="appointments.type_created" if created else "appointments.type_changed",
                 details={"counters": sorted(str(c.pk) for c in counters),
                          "agents": sorted(str(a.pk) for a in agents),
                          **{name: values[name] for name in TYPE_FIELDS if name != "description"}})
    return appointment_type


def _validate_agent(agent, organisation) -> None:
    from mairie.core.organisation.queries import roles_of

    if agent.organisation_id != organisation.pk or not roles_of(agent, organisation):
        raise ValidationError({"agent": _("Choisissez un agent de la collectivité.")})


@transaction.atomic
def add_availability(*, actor, counter, values: dict, request: HttpRequest | None = None):
    """An agent receives at `counter` on a weekday (within an optional period) or on one
    date. Refused when it overlaps another of the agent's availabilities, at any counter:
    nobody is in two places at once."""
    from .models import AgentAvailability

    organisation = counter.organisation
    _plan_check(actor, organisation)
    availability = AgentAvailability(counter=counter, **values)
    _validate_agent(availability.agent, organisation)
    errors = {}
    if (availability.weekday is None) == (availability.on_date is None):
        errors["weekday"] = _("Choisissez un jour de la semaine, ou une date, pas les deux.")
    if not availability.start < availability.end:
        errors["end"] = _("L'heure de fin doit être après celle de début.")
    if availability.valid_from and availability.valid_until and \
            availability.valid_until < availability.valid_from:
        errors["valid_until"] = _("La fin de validité doit être après son début.")
    if errors:
        raise ValidationError(errors)
    others = AgentAvailability.objects.filter(agent=availability.agent,
                                              start__lt=availability.end,
                                              end__gt=availability.start).select_related(
        "counter")
    for other in others:
        if _availabilities_meet(availability, other):
            raise ValidationError({"start": _(
                "%(agent)s reçoit déjà à « %(counter)s » sur une partie de ces heures "
                "(%(other)s).") % {"agent": availability.agent, "counter": other.counter,
                                   "other": other}})
    availability.full_clean()
    availability.save()
    record_event(organisation=organisation, actor=actor, obj=counter, request=request,
                 action="appointments.availability_added",
                 details={"availability": availability.pk, "agent": str(availability.agent_id)})
    return availability


def _availabilities_meet(new, other) -> bool:
    """Two availabilities of one agent with overlapping hours: do they fall on a same day?"""
    far_past, far_future = datetime.date.min, datetime.date.max

    def period(a):
        if a.on_date is not None:
            return a.on_date, a.on_date
        return a.valid_from or far_past, a.valid_until or far_future

    (a_from, a_to), (b_from, b_to) = period(new), period(other)
    if a_to < b_from or b_to < a_from:
        return False
    if new.on_date is not None and other.on_date is not None:
        return True
    if new.on_date is not None:
        return new.on_date.weekday() == other.weekday
    if other.on_date is not None:
        return other.on_date.weekday() == new.weekday
    return new.weekday == other.weekday


@transaction.atomic
def add_absence(*, actor, organisation, values: dict, request: HttpRequest | None = None):
    from .models import AgentAbsence

    _plan_check(actor, organisation)
    absence = AgentAbsence(**values)
    _validate_agent(absence.agent, organisation)
    if not absence.starts_at < absence.ends_at:
        raise ValidationError({"ends_at": _("La fin de l'absence doit être après son début.")})
    absence.full_clean()
    absence.save()
    record_event(organisation=organisation, actor=actor, obj=absence, request=request,
                 action="appointments.absence_added",
                 details={"agent": str(absence.agent_id), "from": absence.starts_at.isoformat(),
                          "to": absence.ends_at.isoformat()})
    return absence
