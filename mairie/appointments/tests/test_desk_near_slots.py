"""Desk bookings skip the online minimal notice (decision 0495): a resident at the counter is
booked for a slot in 30 minutes, the day offers such slots « Réserver », the booking page's
next slots include them; online bookings keep the notice; past slots and slots beyond the
horizon stay refused everywhere."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from mairie.appointments import queries, services
from mairie.appointments.models import Appointment, Slot
from mairie.core.audit.models import AuditEvent

from .desk_helpers import PARIS, build_desk, seat

pytestmark = pytest.mark.django_db

PERSON = {"name": "Léa Dubois", "email": "lea.dubois@example.org", "phone": "06 98 76 54 32"}


@pytest.fixture
def desk(organisation, agent):
    return build_desk(organisation, agent)


def slot_in(passport, counter, agent, *, minutes=0, days=0) -> Slot:
    """A free slot of `agent` starting `minutes` (and `days`) from now, whatever the hour the
    test runs at: the generated plan only covers 9–12 and 14–17."""
    start = (timezone.now() + datetime.timedelta(days=days, minutes=minutes)).replace(
        second=0, microsecond=0)
    slot, _created = Slot.objects.get_or_create(
        appointment_type=passport, counter=counter, agent=agent, start=start,
        defaults={"organisation": passport.organisation, "capacity": 1,
                  "end": start + datetime.timedelta(minutes=20)})
    return slot


def test_a_desk_booking_30_minutes_ahead_succeeds(client, agent, desk):
    counter, passport = desk
    slot = slot_in(passport, counter, agent, minutes=31)
    client.force_login(agent)
    url = reverse("appointments:desk-book", args=[slot.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {**PERSON, "channel": "counter"})
    appointment = Appointment.objects.get(slot=slot)
    assert response.status_code == 302
    assert response.url == reverse("appointments:desk-appointment", args=[appointment.pk])
    assert (appointment.channel, appointment.booked_by) == ("counter", agent)
    assert AuditEvent.objects.filter(action="appointments.booked",
                                     object_id=str(appointment.pk)).exists()


def test_an_online_booking_30_minutes_ahead_is_refused_with_the_notice(desk, agent):
    counter, passport = desk
    slot = slot_in(passport, counter, agent, minutes=31)
    with pytest.raises(services.BookingRefused) as refused:
        services.book_appointment(appointment_type=passport, slot=slot, **PERSON)
    assert refused.value.message == ("Ce créneau est trop proche : ce rendez-vous se réserve "
                                     "au moins 2 h à l'avance.")
    # An agent's booking marked « online » is held to it too.
    with pytest.raises(services.BookingRefused, match="trop proche"):
        services.book_appointment(appointment_type=passport, slot=slot, actor=agent,
                                  **PERSON)
    assert slot not in queries.next_free_slots(passport, limit=50)
    assert slot in queries.next_free_slots(passport, limit=50, notice=False)
    assert not Appointment.objects.exists()


def test_only_an_agent_books_on_a_desk_channel(desk, agent, resident):
    counter, passport = desk
    slot = slot_in(passport, counter, agent, minutes=31)
    for actor in (None, resident):
        with pytest.raises(PermissionDenied):
            services.book_appointment(appointment_type=passport, slot=slot, actor=actor,
                                      account=resident, channel=Appointment.Channel.COUNTER,
                                      **PERSON)
    assert not Appointment.objects.exists()


def test_the_desk_still_refuses_past_slots_and_slots_beyond_the_horizon(desk, agent):
    counter, passport = desk
    past = slot_in(passport, counter, agent, minutes=-10)
    with pytest.raises(services.BookingRefused, match="déjà passé"):
        services.desk_book(actor=agent, slot=past, channel="phone", **PERSON)
    far = slot_in(passport, counter, agent, days=passport.max_days_ahead + 1)
    with pytest.raises(services.BookingRefused, match="pas encore ouvert"):
        services.desk_book(actor=agent, slot=far, channel="phone", **PERSON)
    assert not Appointment.objects.exists()


def test_the_day_offers_near_free_slots_for_booking(client, agent, desk):
    counter, passport = desk
    slot = slot_in(passport, counter, agent, minutes=31)
    client.force_login(agent)
    content = client.get(reverse("appointments:desk-day"), {
        "date": slot.start.astimezone(PARIS).date().isoformat(), "afficher": "tout",
    }).content.decode()
    assert reverse("appointments:desk-book", args=[slot.pk]) in content


def test_the_next_slots_of_a_slot_just_taken_include_near_ones(client, agent, desk):
    counter, passport = desk
    # Only the two slots of the test, whatever the hour: the plan's would overlap them.
    Slot.objects.filter(appointment_type=passport).delete()
    taken = slot_in(passport, counter, agent, minutes=31)
    seat(taken, name="Plus rapide", email="rapide@example.org", phone="0611111111")
    following = slot_in(passport, counter, agent, minutes=51)
    client.force_login(agent)
    response = client.post(reverse("appointments:desk-book", args=[taken.pk]),
                           {**PERSON, "channel": "counter"})
    assert response.status_code == 200
    assert response.context["alternatives"] == [following]
    assert reverse("appointments:desk-book", args=[following.pk]) in response.content.decode()
    booked = client.post(reverse("appointments:desk-book", args=[following.pk]),
                         {**PERSON, "channel": "counter"})
    assert booked.status_code == 302
    assert Appointment.objects.get(slot=following).name == "Léa Dubois"
