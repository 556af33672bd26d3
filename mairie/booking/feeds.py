"""iCalendar (RFC 5545) feeds of reservations, read by calendar applications through secret
addresses: one per resource (its confirmed and pending reservations) and one per agent (their
own reservations). Built with the `icalendar` package (decision 0478)."""

from __future__ import annotations

import datetime

import icalendar
from django.utils import timezone

from .models import Reservation, Resource

PAST_DAYS = 31  # calendar applications show the recent past too; older rows stay out
PRODID = "-//Mairie//Réservations//FR"


def _calendar(name: str) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    return calendar


def _event(reservation: Reservation, *, with_booker: bool) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", f"{reservation.pk}@booking.mairie")
    event.add("dtstamp", reservation.updated_at)
    event.add("dtstart", reservation.start)
    event.add("dtend", reservation.end)
    summary = reservation.title or reservation.resource.name
    if with_booker:
        summary = f"{summary} — {reservation.booker.get_full_name() or reservation.booker}"
    else:
        summary = f"{reservation.resource.name} : {summary}" if reservation.title else summary
    event.add("summary", summary)
    if reservation.resource.location:
        event.add("location", reservation.resource.location)
    event.add("status", "CONFIRMED" if reservation.state == Reservation.State.CONFIRMED
              else "TENTATIVE")
    return event


def _recent(reservations):
    since = timezone.now() - datetime.timedelta(days=PAST_DAYS)
    return (reservations.filter(state__in=Reservation.ACTIVE_STATES, end__gte=since)
            .select_related("resource", "booker").order_by("start"))


def resource_feed(resource: Resource) -> bytes:
    calendar = _calendar(resource.name)
    for reservation in _recent(Reservation.objects.filter(resource=resource)):
        calendar.add_component(_event(reservation, with_booker=True))
    return calendar.to_ical()


def user_feed(user, organisation) -> bytes:
    calendar = _calendar(f"Mes réservations — {organisation.name}")
    for reservation in _recent(Reservation.objects.filter(booker=user,
                                                          organisation=organisation)):
        calendar.add_component(_event(reservation, with_booker=False))
    return calendar.to_ical()
