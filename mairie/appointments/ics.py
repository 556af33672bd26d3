"""The iCalendar (RFC 5545 / 5546) event of an appointment, attached to the resident's e-mails
and offered for download (decision 0482).

One UID per appointment for its whole life; SEQUENCE is `Appointment.sequence`, bumped on
each move and on the cancellation, so that a calendar application replaces the event it holds
(METHOD:REQUEST) or removes it (METHOD:CANCEL). Times carry the counter's time zone, with its
VTIMEZONE."""

from __future__ import annotations

import datetime
from email.mime.text import MIMEText
from email.utils import parseaddr

import icalendar
from django.conf import settings
from django.utils import timezone

from .models import Appointment

PRODID = "-//Mairie//Rendez-vous//FR"
REQUEST, CANCEL, PUBLISH = "REQUEST", "CANCEL", "PUBLISH"


def uid(appointment: Appointment) -> str:
    return f"appointment-{appointment.pk}@mairie"


def location(appointment: Appointment) -> str:
    counter = appointment.slot.counter
    return ", ".join(part for part in (counter.name, counter.address) if part)


def appointment_calendar(appointment: Appointment, *, method: str, manage_url: str = "",
                         sequence: int | None = None) -> bytes:
    slot, counter = appointment.slot, appointment.slot.counter
    organisation = appointment.organisation
    zone = counter.zone
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    event = icalendar.Event()
    event.add("uid", uid(appointment))
    event.add("dtstamp", timezone.now())
    event.add("dtstart", slot.start.astimezone(zone))
    event.add("dtend", slot.end.astimezone(zone))
    event.add("sequence", appointment.sequence if sequence is None else sequence)
    event.add("summary", f"{appointment.appointment_type.name} — {organisation.name}")
    event.add("location", location(appointment))
    description = appointment.appointment_type.description
    if manage_url:
        description = f"{description}\n\n{manage_url}".strip()
        event.add("url", manage_url)
    if description:
        event.add("description", description)
    cancelled = method == CANCEL or appointment.status == Appointment.Status.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if method != PUBLISH:
        sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "ne-pas-repondre@localhost"
        organizer = icalendar.vCalAddress(f"mailto:{sender}")
        organizer.params["cn"] = icalendar.vText(organisation.name)
        event.add("organizer", organizer)
        attendee = icalendar.vCalAddress(f"mailto:{appointment.email}")
        attendee.params.update({
            "cn": icalendar.vText(appointment.name), "role": icalendar.vText("REQ-PARTICIPANT"),
            "partstat": icalendar.vText("DECLINED" if cancelled else "ACCEPTED"),
            "rsvp": icalendar.vText("FALSE")})
        event.add("attendee", attendee)
    calendar.add_component(event)
    day = slot.start.astimezone(zone).date()
    calendar.add_missing_timezones(first_date=day - datetime.timedelta(days=366),
                                   last_date=day + datetime.timedelta(days=366))
    return calendar.to_ical()


def attachment(content: bytes, *, method: str) -> MIMEText:
    """The .ics as an e-mail part: `text/calendar; method=…`, as calendar clients expect."""
    part = MIMEText(content.decode("utf-8"), "calendar", "utf-8")
    part.set_param("method", method)
    part.add_header("Content-Disposition", "attachment", filename="rendez-vous.ics")
    return part
