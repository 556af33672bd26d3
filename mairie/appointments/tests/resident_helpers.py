"""Shared by the tests of the residents' side: a passport type with slots next Monday and
Tuesday, and readers of the e-mails it sends."""

from __future__ import annotations

import datetime
import re

import icalendar
from django.core import mail

from mairie.appointments import services
from mairie.appointments.models import Slot

from .plan import make_availability, make_counter, make_type, next_weekday

RESIDENT = {"name": "Camille Martin", "email": "camille@example.org",
            "phone": "06 12 34 56 78"}


def make_passport(organisation, agent):
    """Passport appointments of 20 minutes at « Accueil de la mairie », 1 place de la Mairie,
    with slots next Monday and Tuesday, 9–12 and 14–17."""
    counter = make_counter(organisation, address="1 place de la Mairie, 12345 Valmont")
    make_availability(agent, counter)
    appointment_type = make_type(organisation, counters=[counter], agents=[agent],
                                 description="Apportez une photo d'identité récente.")
    monday = next_weekday(0)
    services.generate_slots(appointment_type=appointment_type, start=monday,
                            end=monday + datetime.timedelta(days=1))
    return appointment_type


def slots_of(appointment_type) -> list[Slot]:
    return list(Slot.objects.filter(appointment_type=appointment_type).order_by("start")
                .select_related("counter"))


def book(appointment_type, slot, **person):
    return services.book_appointment(appointment_type=appointment_type, slot=slot,
                                     **{**RESIDENT, **person})


def calendar_of(message) -> tuple[icalendar.Calendar, str]:
    """The iCalendar attached to an e-mail, parsed, and its part's Content-Type."""
    for part in message.message().walk():
        if part.get_content_type() == "text/calendar":
            return icalendar.Calendar.from_ical(part.get_payload(decode=True)), part["Content-Type"]
    raise AssertionError("no text/calendar part in the e-mail")


def manage_path(message) -> str:
    """The path of the management link of an e-mail."""
    return re.search(r"https?://[^/\s]+(/rendez-vous/gerer/[^\s]+/)", message.body).group(1)


def outbox_to(address: str):
    return [m for m in mail.outbox if address in m.to]
