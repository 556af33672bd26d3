"""The demo's appointments (issue 6): the Hôtel de ville and the Mairie annexe with their
hours and a closure, four types, the agents' availabilities, the slots generated, a few
appointments — some today, so that the desk has a day to show, one linked to a dossier — and
a waiting-list entry. Idempotent: the plan is found again by its names, and today's
appointments are only added when the desk has none today.

Dates are relative to today, in the organisation's time zone, like the rest of the demo."""

from __future__ import annotations

import datetime
import zoneinfo
from collections import Counter as Tally
from typing import NotRequired, TypedDict

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from mairie.core.organisation.models import Role

from . import services
from .models import (
    AgentAvailability,
    Appointment,
    AppointmentType,
    Closure,
    Counter,
    OpeningHours,
    Slot,
    WaitingListEntry,
)

DEMO_DAYS = 21
TOWN_HALL = "Hôtel de ville"
ANNEX = "Mairie annexe"
PASSPORT = "Passeport et carte d'identité"
CIVIL = "Acte d'état civil"
SOCIAL = "Assistante sociale"
SESSION = "Réunion d'information"

T = datetime.time
Hours = tuple[datetime.time, datetime.time]


class CounterSpec(TypedDict):
    address: str
    hours: dict[int, list[Hours]]  # weekday (0 Monday): the opening ranges


class TypeSpec(TypedDict):
    """An appointment type: its fields, then the counters (by name) and the agents (by key of
    `_agents`)."""

    name: str
    duration_minutes: int
    max_days_ahead: int
    description: str
    counters: list[str]
    agents: list[str]
    capacity: NotRequired[int]
    min_notice_hours: NotRequired[int]
    max_future_per_person: NotRequired[int]


MORNING, AFTERNOON = (T(8, 30), T(12)), (T(13, 30), T(17, 30))
COUNTERS: dict[str, CounterSpec] = {
    TOWN_HALL: {"address": "1 place de la Mairie, 99150 Valmont",
                "hours": {day: [MORNING, AFTERNOON] for day in range(5)} | {5: [(T(9),
                                                                                 T(12))]}},
    ANNEX: {"address": "12 rue des Écoles, 99150 Valmont",
            "hours": {1: [(T(14), T(18, 30))], 3: [MORNING]}},
}
TYPES: list[TypeSpec] = [
    {"name": PASSPORT, "duration_minutes": 20, "max_days_ahead": 45,
     "counters": [TOWN_HALL, ANNEX], "agents": ["accueil"],
     "description": "Venez avec le formulaire de pré-demande (ANTS), une photo d'identité de "
                    "moins de six mois, un justificatif de domicile et l'ancien titre. La "
                    "présence du demandeur est obligatoire, enfant compris."},
    {"name": CIVIL, "duration_minutes": 15, "max_days_ahead": 30, "counters": [TOWN_HALL],
     "agents": ["accueil"],
     "description": "Acte de naissance, de mariage ou de décès : munissez-vous d'une pièce "
                    "d'identité et du livret de famille."},
    {"name": SOCIAL, "duration_minutes": 45, "max_days_ahead": 30, "counters": [TOWN_HALL],
     "agents": ["social"], "min_notice_hours": 24,
     "description": "Un entretien confidentiel avec l'assistante sociale du CCAS."},
    {"name": SESSION, "duration_minutes": 60, "capacity": 8, "max_days_ahead": 30,
     "counters": [ANNEX], "agents": ["mediator"], "max_future_per_person": 1,
     "description": "Séance collective : vos démarches en ligne avec la médiatrice "
                    "numérique (8 personnes)."},
]
WAITING = {"name": "Odile Marchand", "email": "odile.marchand@example.org",
           "phone": "06 39 98 12 34"}
TODAY = [  # (type, local time, name, e-mail, phone, with the fixed resident's dossier)
    (PASSPORT, T(9), "Lucie Garnier", "lucie.garnier@example.org", "06 39 98 40 01", False),
    (PASSPORT, T(10, 20), None, None, "", True),
    (CIVIL, T(14), "Bernard Roux", "bernard.roux@example.org", "06 39 98 40 02", False),
    (PASSPORT, T(16), "Yasmine Haddad", "yasmine.haddad@example.org", "06 39 98 40 03",
     False),
]


DOSSIER_NOTE = ("Vérifier la photo (moins de 6 mois) et le justificatif de domicile du "
                "dossier ; ancien passeport à restituer.")


def _agents(org) -> dict[str, list]:
    """The demo agents who receive: the accueil's agents, a CCAS agent, the mediator."""
    User = get_user_model()

    def of(service, *roles):
        return list(User.objects.filter(
            organisation=org, memberships__service__slug=service,
            memberships__role__in=roles).distinct().order_by("email"))

    accueil = of("accueil-etat-civil", Role.AGENT)
    return {"accueil": accueil[:2], "social": of("action-sociale", Role.AGENT)[:1],
            "mediator": of("accueil-etat-civil", Role.MEDIATOR)[:1]}


def _plan(org, tally: Tally) -> tuple[dict, dict]:
    counters = {}
    for name, counter_spec in COUNTERS.items():
        counter, created = Counter.objects.get_or_create(
            organisation=org, name=name, defaults={"address": counter_spec["address"]})
        tally["counters"] += created
        if created:
            OpeningHours.objects.bulk_create(
                OpeningHours(counter=counter, weekday=day, start=start, end=end)
                for day, ranges in counter_spec["hours"].items() for start, end in ranges)
        counters[name] = counter
    agents = _agents(org)
    types = {}
    for spec in TYPES:
        values = {k: v for k, v in spec.items() if k not in ("name", "counters", "agents")}
        appointment_type, created = AppointmentType.objects.get_or_create(
            organisation=org, name=spec["name"], defaults=values)
        tally["types"] += created
        if created:
            appointment_type.counters.set([counters[name] for name in spec["counters"]])
            appointment_type.agents.set([a for key in spec["agents"] for a in agents[key]])
        types[spec["name"]] = appointment_type
    for spec in TYPES:
        for key in spec["agents"]:
            for agent in agents[key]:
                for name in spec["counters"]:
                    _availability(agent, counters[name], tally)
    return counters, types


def _availability(agent, counter, tally: Tally) -> None:
    """The agent receives at the counter during all of its weekly hours."""
    if AgentAvailability.objects.filter(agent=agent, counter=counter).exists():
        return
    for hours in counter.opening_hours.all():
        AgentAvailability.objects.create(agent=agent, counter=counter, weekday=hours.weekday,
                                         start=hours.start, end=hours.end)
        tally["availabilities"] += 1


def _exceptions(counters, types, today: datetime.date, tally: Tally) -> None:
    """A closure in ten days (agents' training), and, when today has no hours at the town
    hall (a Sunday, a public holiday), an extra opening today so that the desk has a day."""
    town_hall = counters[TOWN_HALL]
    closed_on = today + datetime.timedelta(days=10)
    if not Closure.objects.filter(counter=town_hall, label="Formation des agents").exists():
        Closure.objects.create(counter=town_hall, kind=Closure.Kind.CLOSED, starts_on=closed_on,
                               ends_on=closed_on, label="Formation des agents")
        tally["closures"] += 1
    from .schedule import counter_ranges, public_holidays

    open_today = counter_ranges(
        today, hours=list(town_hall.opening_hours.all()),
        closures=list(Closure.objects.filter(counter=town_hall, starts_on__lte=today,
                                             ends_on__gte=today)),
        holiday=today in public_holidays(town_hall, today, today))
    if not open_today:
        Closure.objects.create(counter=town_hall, kind=Closure.Kind.OPEN, starts_on=today,
                               ends_on=today, start=T(8, 30), end=T(17, 30),
                               label="Permanence exceptionnelle")
        tally["closures"] += 1
        # Its agents come that day too (their weekly availabilities do not cover it).
        for name in (PASSPORT, CIVIL):
            for agent in types[name].agents.all():
                AgentAvailability.objects.get_or_create(
                    agent=agent, counter=town_hall, on_date=today, start=T(8, 30),
                    end=T(17, 30))


def _book_today(appointment_type, slot, *, name, email, phone, account, actor, dossier,
                org) -> Appointment:
    """A seat of a slot of today, taken as `services.book_appointment` takes it (the seat,
    the holds on the agent's other slots) but without its booking window: the desk's day
    has appointments whose time has passed."""
    with transaction.atomic():
        locked = services._lock_agent_slots([slot])
        seat = services._take_seat(slot, locked)
        return Appointment.objects.create(
            organisation=org, slot=slot, seat=seat, account=account, name=name, email=email,
            phone=phone, email_key=email.lower(), booked_by=actor,
            channel=Appointment.Channel.PHONE if actor else Appointment.Channel.ONLINE,
            appointment_type=appointment_type, starts_at=slot.start, dossier=dossier,
            agent_note=DOSSIER_NOTE if dossier else "")


def _appointments(org, counters, types, zone, today, tally: Tally, resident_emails) -> None:
    User = get_user_model()
    town_hall = counters[TOWN_HALL]
    start = datetime.datetime.combine(today, T.min, tzinfo=zone)
    booked_today = Appointment.objects.filter(
        organisation=org, slot__counter=town_hall, starts_at__gte=start,
        starts_at__lt=start + datetime.timedelta(days=1)).exists()
    residents = {u.email: u for u in User.objects.filter(organisation=org,
                                                         email__in=resident_emails[:3])}
    fixed = residents.get(resident_emails[0]) if resident_emails else None
    desk_agent = User.objects.filter(email="agent.accueil@valmont.example").first()
    if not booked_today:
        from mairie.procedures.models import Dossier

        dossier = (Dossier.objects.filter(organisation=org, applicant=fixed)
                   .exclude(number="").order_by("created_at").first()) if fixed else None
        for type_name, moment, name, email, phone, with_dossier in TODAY:
            appointment_type = types[type_name]
            wanted = datetime.datetime.combine(today, moment, tzinfo=zone)
            free = (Slot.objects.filter(appointment_type=appointment_type, counter=town_hall,
                                        blocked=False, withdrawn=False, holds=0, booked=0,
                                        start__gte=start,
                                        start__lt=start + datetime.timedelta(days=1))
                    .order_by("start"))
            # At the wanted time, or the day's first free one (a short Saturday).
            slot = free.filter(start__gte=wanted).first() or free.first()
            if slot is None:
                continue
            account = fixed if with_dossier else None
            _book_today(appointment_type, slot,
                        name=name or (fixed.get_full_name() if fixed else "Usager"),
                        email=email or (fixed.email if fixed else "usager@example.org"),
                        phone=phone, account=account,
                        actor=None if account else desk_agent,
                        dossier=dossier if with_dossier else None, org=org)
            tally["appointments"] += 1
    if not Appointment.objects.filter(organisation=org, starts_at__gt=timezone.now()
                                      + datetime.timedelta(days=1)).exists():
        later = [(types[PASSPORT], residents.get(resident_emails[1]) if len(
            resident_emails) > 1 else None, 3), (types[SESSION], fixed, 5)]
        for appointment_type, account, days in later:
            if account is None:
                continue
            after = timezone.now() + datetime.timedelta(days=days)
            for slot in services_slots(appointment_type, after):
                try:
                    services.book_appointment(appointment_type=appointment_type, slot=slot,
                                              account=account, actor=account)
                except services.BookingRefused:
                    continue
                tally["appointments"] += 1
                break
    if not WaitingListEntry.objects.filter(organisation=org,
                                           email_key=WAITING["email"]).exists():
        WaitingListEntry.objects.create(
            organisation=org, appointment_type=types[PASSPORT], counter=town_hall,
            email_key=WAITING["email"], wanted_until=today + datetime.timedelta(days=30),
            **WAITING)
        tally["waiting_list"] += 1


def services_slots(appointment_type, after) -> list:
    from .queries import next_free_slots

    return next_free_slots(appointment_type, after=after, limit=3)


def load_appointments_demo(org, *, resident_emails: list[str]) -> Tally:
    """Returns what was created, by kind."""
    tally: Tally = Tally()
    zone = zoneinfo.ZoneInfo(org.time_zone)
    today = timezone.localdate(timezone=zone)
    counters, types = _plan(org, tally)
    _exceptions(counters, types, today, tally)
    # Three weeks of slots: enough to try, and quick to load; the daily task
    # (`tasks.generate_upcoming_slots`) extends them to each type's horizon.
    for appointment_type in types.values():
        report = services.generate_slots(appointment_type=appointment_type, start=today,
                                         end=today + datetime.timedelta(days=DEMO_DAYS))
        tally["slots"] += report.created
    _appointments(org, counters, types, zone, today, tally, resident_emails)
    return tally
