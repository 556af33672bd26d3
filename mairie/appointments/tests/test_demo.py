"""The demo's appointments and bookable resources: the demo loads twice without error and the
same, with counters, hours, a closure, the four types, slots, appointments today (one with
a dossier), a waiting-list entry; rooms, the Kangoo needing an approval, laptops on loan (one
overdue), booking rights, a weekly series and a pending request."""

import io
import zoneinfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from mairie.appointments.models import (
    AgentAvailability,
    Appointment,
    AppointmentType,
    Closure,
    Counter,
    Slot,
    WaitingListEntry,
)
from mairie.booking.models import BookingRight, Loan, Reservation, ReservationSeries, Resource
from mairie.core.tenancy.models import Organisation


def _counts():
    return {model.__name__: model.objects.count() for model in (
        Counter, Closure, AppointmentType, AgentAvailability, Slot, Appointment,
        WaitingListEntry, Resource, BookingRight, Reservation, ReservationSeries, Loan)}


@pytest.mark.django_db
def test_the_demo_loads_twice_with_appointments_and_resources():
    call_command("demo", stdout=io.StringIO())
    first = _counts()
    call_command("demo", stdout=io.StringIO())
    assert _counts() == first

    org = Organisation.objects.get(slug="valmont")
    zone = zoneinfo.ZoneInfo(org.time_zone)
    town_hall = Counter.objects.get(organisation=org, name="Hôtel de ville")
    assert Counter.objects.filter(organisation=org, name="Mairie annexe").exists()
    assert town_hall.opening_hours.exists()
    assert Closure.objects.filter(counter=town_hall, label="Formation des agents").exists()
    types = {t.name: t for t in AppointmentType.objects.filter(organisation=org)}
    assert types["Passeport et carte d'identité"].duration_minutes == 20
    assert types["Acte d'état civil"].duration_minutes == 15
    assert types["Assistante sociale"].duration_minutes == 45
    assert types["Réunion d'information"].capacity == 8
    assert all(t.agents.exists() for t in types.values())
    assert Slot.objects.filter(appointment_type=types["Passeport et carte d'identité"],
                               start__gt=timezone.now()).count() > 50

    today = timezone.localdate(timezone=zone)
    todays = [a for a in Appointment.objects.filter(organisation=org,
                                                    status=Appointment.Status.BOOKED)
              if a.starts_at.astimezone(zone).date() == today]
    assert len(todays) >= 3  # the desk has a day to show
    assert any(a.dossier_id for a in todays)
    assert Appointment.objects.filter(organisation=org, starts_at__gt=timezone.now()
                                      + timezone.timedelta(days=1)).exists()
    assert WaitingListEntry.objects.filter(organisation=org, ended_at__isnull=True).exists()
    for slot in Slot.objects.filter(organisation=org, booked__gt=0):
        assert slot.booked <= slot.capacity and slot.holds == 0

    resources = {r.name: r for r in Resource.objects.filter(organisation=org)}
    council = resources["Salle du conseil"]
    assert (council.capacity, council.accessible) == (30, True)
    assert resources["Salle de réunion 2e étage"].capacity == 8
    van = resources["Kangoo électrique"]
    assert van.requires_approval and van.rights.count() == 3
    assert Reservation.objects.filter(resource=van, state=Reservation.State.REQUESTED).exists()
    series = ReservationSeries.objects.get(organisation=org)
    assert series.reservations.count() == 8 and "WEEKLY" in series.rrule
    loans = Loan.objects.filter(organisation=org, returned_at__isnull=True)
    assert loans.count() == 2
    assert loans.filter(due_on__lt=today).count() == 1  # overdue
