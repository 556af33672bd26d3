"""Reads of the appointments: the offer of free slots (public, per organisation), and one
appointment for its resident or an agent."""

from __future__ import annotations

import datetime
import random

from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from . import rules
from .models import Appointment, AppointmentType, Counter, Slot

SEARCH_LIMIT = 50


def bookable_types(organisation) -> QuerySet[AppointmentType]:
    """The types a resident may book online on the organisation's portal."""
    return AppointmentType.objects.filter(organisation=organisation, is_active=True)


def bookable_type(organisation, pk) -> AppointmentType:
    found = bookable_types(organisation).filter(pk=pk).select_related("organisation").first()
    if found is None:
        raise Http404
    return found


def booking_window(appointment_type: AppointmentType,
                   now: datetime.datetime | None = None, *,
                   notice: bool = True) -> tuple[datetime.datetime, datetime.datetime]:
    """From when to when the type may be booked now: after the minimal notice, up to the
    horizon. Without `notice` (an agent booking on the phone or at the counter, decision
    0495), from now."""
    now = now or timezone.now()
    hours = appointment_type.min_notice_hours if notice else 0
    return (now + datetime.timedelta(hours=hours),
            now + datetime.timedelta(days=appointment_type.max_days_ahead))


def free_slots(appointment_type: AppointmentType, *, after: datetime.datetime | None = None,
               counter=None, notice: bool = True) -> QuerySet[Slot]:
    """The type's free slots within its booking window, from `after`, in time order. Served
    by the partial index `appointments_slot_search` (type, start) whatever the horizon."""
    opens, closes = booking_window(appointment_type, notice=notice)
    start = max(after, opens) if after else opens
    slots = Slot.objects.filter(organisation_id=appointment_type.organisation_id,
                                appointment_type=appointment_type, blocked=False,
                                withdrawn=False, holds=0, start__gte=start,
                                start__lte=closes, booked__lt=F("capacity"))
    if counter is not None:
        slots = slots.filter(counter=counter)
    return slots.order_by("start", "pk")


def next_free_slots(appointment_type: AppointmentType, *,
                    after: datetime.datetime | None = None, limit: int = 10,
                    counter=None, notice: bool = True) -> list[Slot]:
    """The next `limit` free slots of the type (at most SEARCH_LIMIT), with their counter;
    `notice=False` for the desk, whose bookings skip the minimal notice (decision 0495)."""
    return list(free_slots(appointment_type, after=after, counter=counter, notice=notice)
                .select_related("counter")[:max(1, min(limit, SEARCH_LIMIT))])


TIMES_SPREAD = 10


def next_free_times(appointment_type: AppointmentType, *,
                    after: datetime.datetime | None = None, limit: int = 20,
                    counter=None) -> list[Slot]:
    """The next `limit` free times of the type, one slot for each (start, counter): a
    resident chooses a time and a place, not an agent, and two agents free at 9:15 are one
    « 9h15 » to them. Reads at most `limit` × TIMES_SPREAD rows of the search index (ids and
    times only), then the chosen slots with their counter: two queries whatever the number
    of agents. With more than TIMES_SPREAD agents free at the same times the list may be
    shorter than `limit`; the page goes on from its last time."""
    rows = (free_slots(appointment_type, after=after, counter=counter)
            .values_list("pk", "start", "counter_id")[:max(1, limit) * TIMES_SPREAD])
    chosen, seen = [], set()
    for pk, start, counter_id in rows:
        if (start, counter_id) not in seen:
            seen.add((start, counter_id))
            chosen.append(pk)
            if len(chosen) == limit:
                break
    if not chosen:
        return []
    return list(Slot.objects.filter(pk__in=chosen).select_related("counter")
                .order_by("start", "pk"))


ALTERNATIVES = 5
ALTERNATIVES_POOL = 20


def alternatives(appointment_type: AppointmentType, near: datetime.datetime, *,
                 notice: bool = True) -> list[Slot]:
    """What to offer someone whose slot was just taken: the first free slot from the time
    they wanted (`near`), then 4 others drawn among the next ones (ALTERNATIVES_POOL), in time
    order; from the earliest bookable moment when nothing is left after `near`. Drawn, not
    the next 5 for everyone: in a rush the losers all wanted the same first slots, and the
    same 5 offered to all of them would be taken again at once (decision 0497)."""
    if notice:  # a resident's: free times, one slot each
        pool = (next_free_times(appointment_type, after=near, limit=ALTERNATIVES_POOL)
                or next_free_times(appointment_type, limit=ALTERNATIVES_POOL))
    else:  # the desk's: each agent's slot (the agent matters to the agent booking)
        pool = (next_free_slots(appointment_type, after=near, limit=ALTERNATIVES_POOL,
                                notice=False)
                or next_free_slots(appointment_type, limit=ALTERNATIVES_POOL, notice=False))
    if len(pool) <= ALTERNATIVES:
        return pool
    drawn = random.sample(pool[1:], ALTERNATIVES - 1)  # noqa: S311 — a spread, not a secret
    return [pool[0], *sorted(drawn, key=lambda slot: (slot.start, slot.pk))]


def bookable_types_with_counters(organisation) -> QuerySet[AppointmentType]:
    """`bookable_types`, each with its open counters in `active_counters` (one query)."""
    from django.db.models import Prefetch

    return bookable_types(organisation).prefetch_related(
        Prefetch("counters", queryset=Counter.objects.filter(is_active=True),
                 to_attr="active_counters"))


def slot_of_organisation(organisation, pk) -> Slot | None:
    """A slot of `organisation` named by an API client (the booking says why it cannot be
    booked), with its type and counter."""
    return (Slot.objects.filter(organisation=organisation, pk=pk)
            .select_related("appointment_type__organisation", "counter").first())


def resident_account(organisation, email: str):
    """The active account of `organisation` with that address, if any: an appointment an
    agent books for it then shows in the person's « Mes rendez-vous »."""
    from django.contrib.auth import get_user_model

    email = (email or "").strip()
    if not email:
        return None
    return get_user_model().objects.filter(organisation=organisation, is_active=True,
                                           email__iexact=email).first()


def bookable_slot(appointment_type: AppointmentType, pk) -> Slot:
    """A slot of the type chosen on the page (free or not: the booking says why not)."""
    found = (Slot.objects.filter(organisation_id=appointment_type.organisation_id,
                                 appointment_type=appointment_type, pk=pk)
             .select_related("counter").first())
    if found is None:
        raise Http404
    return found


def appointments_of_account(user) -> QuerySet[Appointment]:
    """A resident's own appointments, next first."""
    if not getattr(user, "is_authenticated", False):
        return Appointment.objects.none()
    return (Appointment.objects.filter(organisation_id=user.organisation_id, account=user)
            .select_related("slot__counter", "appointment_type").order_by("starts_at"))


def appointment_for_agent(user, organisation, pk) -> Appointment:
    if not rules.books_for_residents(user, organisation):
        raise Http404
    found = (Appointment.objects.filter(organisation=organisation, pk=pk)
             .select_related("slot__counter", "appointment_type").first())
    if found is None:
        raise Http404
    return found


def desk_counters(user, organisation):
    """The counters whose appointments an agent reads (the desk, the API): all of them for
    directors, mediators and administrators; for another agent, those where an agent of one
    of their services receives (`rules.desk_counter_condition`, decision 0485). Nothing
    outside `organisation`."""
    from .models import Counter

    condition = rules.desk_counter_condition(user, organisation)
    if condition is None:
        return Counter.objects.none()
    return Counter.objects.filter(condition, organisation=organisation).select_related(
        "organisation").order_by("name")


def appointments_of_day(user, organisation, counter, day: datetime.date):
    """The booked appointments of `day` (the counter's local day) at `counter`, for an agent
    who reads that counter (`desk_counters`), in time order; none otherwise."""
    if not desk_counters(user, organisation).filter(pk=counter.pk).exists():
        return Appointment.objects.none()
    zone = counter.zone
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)
    end = start + datetime.timedelta(days=1)
    return (Appointment.objects.filter(organisation=organisation, slot__counter=counter,
                                       status=Appointment.Status.BOOKED,
                                       starts_at__gte=start, starts_at__lt=end)
            .select_related("slot__counter", "slot__agent", "appointment_type", "dossier")
            .order_by("starts_at", "seat"))


# --- The agents' desk (decision 0485) ----------------------------------------------------
# Every read of the desk goes through `desk_counters`: the counters the agent works the desk
# of (`rules.desk_counter_condition`); anything else — another service's counter, another
# organisation's — is a 404.

DESK_SLOT_LIMIT = 600
EXPORT_LIMIT = 5000


def counters_of_agent(user, organisation, counters) -> list:
    """Among `counters`, those where `user` receives: their default desk."""
    from .models import AgentAvailability

    ids = set(AgentAvailability.objects.filter(agent_id=user.pk, counter__in=counters)
              .values_list("counter_id", flat=True))
    ids |= set(AppointmentType.objects.filter(organisation=organisation, agents=user.pk,
                                              counters__in=counters)
               .values_list("counters", flat=True))
    return [counter for counter in counters if counter.pk in ids]


def desk_agents(organisation, counters) -> QuerySet:
    """The agents who receive at `counters` (a type's agents, or with availabilities)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    counter_ids = [counter.pk for counter in counters]
    return (get_user_model().objects.filter(organisation=organisation)
            .filter(Q(appointment_availabilities__counter_id__in=counter_ids)
                    | Q(pk__in=AppointmentType.agents.through.objects.filter(
                        appointmenttype__counters__in=counter_ids).values("user_id")))
            .distinct().order_by("last_name", "first_name", "email"))


def _day_bounds(counter, day: datetime.date, days: int = 1):
    zone = counter.zone
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(day + datetime.timedelta(days=days), datetime.time.min,
                                    tzinfo=zone)
    return start, end


def _window(counters, day: datetime.date, days: int):
    from django.db.models import Q

    condition = Q(pk__in=[])
    for counter in counters:
        start, end = _day_bounds(counter, day, days)
        condition |= Q(counter_id=counter.pk, start__gte=start, start__lt=end)
    return condition


def _with_local(instance: Slot | Appointment, zone: datetime.tzinfo,
                **moments: datetime.datetime) -> None:
    """Attach the local times the desk shows (`local_start`, `local_end`) to `instance`:
    plain attributes read by the views and templates, not fields of the model."""
    for name, moment in moments.items():
        setattr(instance, name, moment.astimezone(zone))


def _live_appointments():
    from django.db.models import Prefetch

    return Prefetch("appointments", to_attr="live", queryset=(
        Appointment.objects.filter(status=Appointment.Status.BOOKED)
        .select_related("dossier").order_by("seat")))


def desk_slots(counters, *, day: datetime.date, agent=None, days: int = 1,
               booked_only: bool = False) -> list[Slot]:
    """The slots of `counters` (already read through `desk_counters`) over `days` days from
    `day`, local to each counter, with their booked appointments: two queries whatever the
    number. Slots the agent cannot give (held by another of their appointments, or out of
    the plan without a booking) are left out; at most DESK_SLOT_LIMIT."""
    if not counters:
        return []
    by_id = {counter.pk: counter for counter in counters}
    slots = (Slot.objects.filter(_window(counters, day, days))
             .exclude(booked=0, holds__gt=0).exclude(booked=0, withdrawn=True)
             .select_related("appointment_type", "agent")
             .prefetch_related(_live_appointments())
             .order_by("start", "counter__name", "agent__last_name", "pk"))
    if agent is not None:
        slots = slots.filter(agent=agent)
    if booked_only:
        slots = slots.filter(Q(booked__gt=0) | Q(blocked=True))
    found = list(slots[:DESK_SLOT_LIMIT + 1])
    for slot in found:
        slot.counter = by_id[slot.counter_id]
        slot.organisation = slot.counter.organisation  # the same row: spares reading it
        _with_local(slot, slot.counter.zone, local_start=slot.start, local_end=slot.end)
    return found


def desk_free_count(counters, *, day: datetime.date, agent=None) -> int:
    """How many slots of the day could still be given at `counters` (one query)."""
    if not counters:
        return 0
    slots = Slot.objects.filter(_window(counters, day, 1), blocked=False, withdrawn=False,
                                holds=0, booked__lt=F("capacity"))
    if agent is not None:
        slots = slots.filter(agent=agent)
    return slots.count()


def desk_week(counters, *, monday: datetime.date, agent=None) -> list[dict]:
    """Per day of the week from `monday`: its booked appointments (time order) and how many
    slots are free or blocked. Two queries (the slots' states as tuples, the appointments)."""
    from collections import Counter as Tally

    if not counters:
        return []
    by_id = {counter.pk: counter for counter in counters}
    window = _window(counters, monday, 7)
    slots = Slot.objects.filter(window).exclude(booked=0, holds__gt=0).exclude(
        booked=0, withdrawn=True)
    if agent is not None:
        slots = slots.filter(agent=agent)
    free: Tally[datetime.date] = Tally()
    blocked: Tally[datetime.date] = Tally()
    for counter_id, start, is_blocked, withdrawn, booked, capacity in slots.values_list(
            "counter_id", "start", "blocked", "withdrawn", "booked", "capacity")[
            :DESK_SLOT_LIMIT * 7]:
        day = start.astimezone(by_id[counter_id].zone).date()
        if is_blocked:
            blocked[day] += 1
        elif not withdrawn and booked < capacity:
            free[day] += 1
    appointments = (Appointment.objects.filter(
        status=Appointment.Status.BOOKED, slot__in=slots.values("pk"))
        .select_related("slot__agent", "appointment_type", "dossier")
        .order_by("starts_at", "pk"))
    per_day: dict = {monday + datetime.timedelta(days=n): [] for n in range(7)}
    for appointment in appointments[:DESK_SLOT_LIMIT * 7]:
        counter = by_id[appointment.slot.counter_id]
        appointment.slot.counter = counter
        _with_local(appointment, counter.zone, local_start=appointment.starts_at)
        per_day.setdefault(appointment.starts_at.astimezone(counter.zone).date(), []).append(
            appointment)
    return [{"day": day, "appointments": items, "free": free[day], "blocked": blocked[day]}
            for day, items in sorted(per_day.items())]


def desk_appointment(user, organisation, pk) -> Appointment:
    """One appointment of a counter whose desk `user` works, else 404."""
    found = (Appointment.objects.filter(organisation=organisation, pk=pk,
                                        slot__counter__in=desk_counters(user, organisation))
             .select_related("slot__counter__organisation", "slot__agent", "appointment_type",
                             "dossier__version__definition", "booked_by", "attendance_by")
             .first()) if organisation is not None else None
    if found is None:
        raise Http404
    _with_local(found, found.slot.counter.zone, local_start=found.starts_at)
    return found


def desk_slot(user, organisation, pk) -> Slot:
    found = (Slot.objects.filter(organisation=organisation, pk=pk,
                                 counter__in=desk_counters(user, organisation))
             .select_related("counter__organisation", "appointment_type__organisation",
                             "agent").first()) if organisation is not None else None
    if found is None:
        raise Http404
    _with_local(found, found.counter.zone, local_start=found.start)
    return found


def linkable_dossier(user, organisation, number: str):
    """The submitted dossier numbered `number` that `user` may open (procedures' own rule),
    or None: an agent links an appointment only to a dossier they can read."""
    from mairie.procedures.queries import dossiers_readable_by_agent

    number = number.strip()
    if not number:
        return None
    return dossiers_readable_by_agent(user, organisation).filter(number=number).first()


DOSSIER_APPOINTMENT_LIMIT = 20


def dossier_has_appointments():
    """For a query of dossiers (`procedures.queries.dossier_for_agent`): whether any
    appointment is linked to the dossier, so that its page reads them only then. Not a
    permission: `appointments_of_dossier` filters what is shown."""
    from django.db.models import Exists, OuterRef

    return Exists(Appointment.objects.filter(dossier_id=OuterRef("pk")))


def appointments_of_dossier(user, organisation, dossier) -> list[Appointment]:
    """The appointments linked to `dossier` (coming, past and cancelled, in time order) at
    the counters whose desk `user` works (`desk_counters`): what the agent's dossier page
    lists, each one a desk page `user` may open. Nothing of another organisation; at most
    DOSSIER_APPOINTMENT_LIMIT + 1 (the caller says when there are more); one query, whatever
    their number."""
    if organisation is None or dossier.organisation_id != organisation.pk:
        return []
    found = list(Appointment.objects.filter(
        organisation=organisation, dossier_id=dossier.pk,
        slot__counter__in=desk_counters(user, organisation))
        .select_related("slot__counter__organisation", "appointment_type")
        .order_by("starts_at", "pk")[:DOSSIER_APPOINTMENT_LIMIT + 1])
    for appointment in found:
        _with_local(appointment, appointment.slot.counter.zone,
                    local_start=appointment.starts_at)
    return found


def desk_export_rows(counters, *, day: datetime.date, agent=None) -> list[Appointment]:
    """The day's booked appointments at `counters`, for the export (one query)."""
    if not counters:
        return []
    by_id = {counter.pk: counter for counter in counters}
    appointments = (Appointment.objects.filter(status=Appointment.Status.BOOKED)
                    .filter(**({"slot__agent": agent} if agent is not None else {}))
                    .filter(slot__in=Slot.objects.filter(_window(counters, day, 1))
                            .values("pk"))
                    .select_related("slot__agent", "appointment_type", "dossier")
                    .order_by("starts_at", "slot__counter__name", "pk"))
    found = list(appointments[:EXPORT_LIMIT])
    for appointment in found:
        appointment.slot.counter = by_id[appointment.slot.counter_id]
        _with_local(appointment, appointment.slot.counter.zone,
                    local_start=appointment.starts_at)
    return found


# --- The plan's administration (decision 0486) -------------------------------------------


def counters_for_planner(user, organisation):
    from .models import Counter

    if not rules.may_plan(user, organisation):
        return Counter.objects.none()
    return Counter.objects.filter(organisation=organisation).order_by("name")


def counter_for_planner(user, organisation, pk):
    found = (counters_for_planner(user, organisation).select_related("organisation")
             .filter(pk=pk).first())
    if found is None:
        raise Http404
    return found


def types_for_planner(user, organisation) -> QuerySet[AppointmentType]:
    if not rules.may_plan(user, organisation):
        return AppointmentType.objects.none()
    return (AppointmentType.objects.filter(organisation=organisation)
            .prefetch_related("counters").order_by("name"))


def type_for_planner(user, organisation, pk) -> AppointmentType:
    found = (types_for_planner(user, organisation).select_related("organisation")
             .filter(pk=pk).first())
    if found is None:
        raise Http404
    return found


def plan_agents(user, organisation) -> QuerySet:
    """The organisation's agents (holders of a role), to choose who receives."""
    from django.contrib.auth import get_user_model

    if not rules.may_plan(user, organisation):
        return get_user_model().objects.none()
    return (get_user_model().objects.filter(organisation=organisation,
                                            memberships__isnull=False)
            .distinct().order_by("last_name", "first_name", "email"))


def availabilities_for_planner(user, organisation, counter) -> QuerySet:
    from .models import AgentAvailability

    if not rules.may_plan(user, organisation) or counter.organisation_id != organisation.pk:
        return AgentAvailability.objects.none()
    return (AgentAvailability.objects.filter(counter=counter).select_related("agent")
            .order_by("agent__last_name", "agent__first_name", "weekday", "on_date", "start"))


def absences_for_planner(user, organisation, *, upcoming_only: bool = True) -> QuerySet:
    from .models import AgentAbsence

    if not rules.may_plan(user, organisation):
        return AgentAbsence.objects.none()
    absences = AgentAbsence.objects.filter(agent__organisation=organisation)
    if upcoming_only:
        absences = absences.filter(ends_at__gt=timezone.now())
    return absences.select_related("agent").order_by("starts_at")


def closures_for_planner(user, organisation, counter) -> QuerySet:
    from .models import Closure

    if not rules.may_plan(user, organisation) or counter.organisation_id != organisation.pk:
        return Closure.objects.none()
    return Closure.objects.filter(counter=counter).order_by("starts_on", "start")


def waiting_list_counters(appointment_type: AppointmentType) -> list:
    """The counters a resident may pick when joining the type's waiting list."""
    return list(appointment_type.counters.filter(is_active=True).order_by("name"))
