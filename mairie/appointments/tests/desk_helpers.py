"""The desk's test plan: the « Accueil de la mairie » counter of the « Accueil et état
civil » service, open every day 9–12 and 14–17, where `agent` receives passport appointments
of 20 minutes; slots materialised from yesterday to ten days ahead."""

from __future__ import annotations

import datetime
import zoneinfo

from django.db.models import F
from django.utils import timezone

from mairie.appointments import services
from mairie.appointments.models import Appointment, Slot

from .plan import make_availability, make_counter, make_type

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def today() -> datetime.date:
    return timezone.localdate(timezone=PARIS)


def build_desk(organisation, agent):
    counter = make_counter(organisation)
    make_availability(agent, counter)
    passport = make_type(organisation, counters=[counter], agents=[agent])
    services.generate_slots(appointment_type=passport,
                            start=today() - datetime.timedelta(days=1),
                            end=today() + datetime.timedelta(days=10))
    return counter, passport


def slot_at(appointment_type, day: datetime.date, hour: int, minute: int = 0, *,
            agent=None) -> Slot:
    slots = Slot.objects.filter(appointment_type=appointment_type,
                                start=datetime.datetime.combine(
                                    day, datetime.time(hour, minute), tzinfo=PARIS))
    if agent is not None:
        slots = slots.filter(agent=agent)
    return slots.get()


def seat(slot: Slot, *, name="Camille Martin", email="camille@example.org",
         phone="06 12 34 56 78", channel=Appointment.Channel.ONLINE) -> Appointment:
    """A booked appointment on `slot` as the booking service leaves it (without the window
    checks, so that the tests can seat people in the past)."""
    Slot.objects.filter(pk=slot.pk).update(booked=F("booked") + 1)
    return Appointment.objects.create(
        organisation=slot.organisation, slot=slot, seat=0, name=name, email=email,
        email_key=email.lower(), phone=phone, appointment_type=slot.appointment_type,
        starts_at=slot.start, channel=channel)
