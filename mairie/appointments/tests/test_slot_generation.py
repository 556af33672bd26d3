"""Materialising the slots from the plan: hours, public holidays per country, exceptions,
availabilities and absences; generating again is idempotent and keeps booked slots."""

import datetime
import zoneinfo

import pytest

from mairie.appointments import services
from mairie.appointments.models import AgentAbsence, AgentAvailability, Closure, Slot
from mairie.core.factories import OrganisationFactory, ServiceFactory, agent_factory

from .plan import make_availability, make_counter, make_type, next_occurrence, next_weekday

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def slots_on(appointment_type, day, zone=PARIS):
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)
    return list(Slot.objects.filter(appointment_type=appointment_type, start__gte=start,
                                    start__lt=start + datetime.timedelta(days=1),
                                    withdrawn=False).order_by("start"))


def generate(appointment_type, day):
    return services.generate_slots(appointment_type=appointment_type, start=day, end=day)


@pytest.fixture
def passport(organisation, agent):
    counter = make_counter(organisation)
    make_availability(agent, counter)
    return make_type(organisation, counters=[counter], agents=[agent])


def test_a_day_is_cut_into_slots_of_the_type_in_local_time(passport):
    monday = next_weekday(0)
    report = generate(passport, monday)
    slots = slots_on(passport, monday)
    assert report.created == len(slots) == 18
    first, last = slots[0], slots[-1]
    assert first.start.astimezone(PARIS).time() == datetime.time(9)
    assert first.end - first.start == datetime.timedelta(minutes=20)
    assert last.end.astimezone(PARIS).time() == datetime.time(17)
    assert {s.capacity for s in slots} == {1}
    # No slot over the lunch break.
    assert not [s for s in slots if datetime.time(12) <= s.start.astimezone(PARIS).time()
                < datetime.time(14)]


def test_generating_again_changes_nothing(passport):
    monday = next_weekday(0)
    generate(passport, monday)
    again = generate(passport, monday)
    assert (again.created, again.removed, again.withdrawn) == (0, 0, 0)
    assert len(slots_on(passport, monday)) == 18


def test_only_the_agents_hours_within_the_counters_hours(organisation, agent, service):
    counter = make_counter(organisation)
    make_availability(agent, counter, ranges=[(datetime.time(10), datetime.time(15))])
    other = agent_factory(service=service, email="second@valmont.example")
    make_availability(other, counter, ranges=[(datetime.time(9), datetime.time(10))])
    passport = make_type(organisation, counters=[counter], agents=[agent, other])
    tuesday = next_weekday(1)
    generate(passport, tuesday)
    slots = slots_on(passport, tuesday)
    mine = [s for s in slots if s.agent_id == agent.pk]
    theirs = [s for s in slots if s.agent_id == other.pk]
    assert len(mine) == 6 + 3  # 10–12, then 14–15
    assert len(theirs) == 3  # 9–10


def test_no_slots_on_the_fourteenth_of_july_in_france(passport):
    national_day = next_occurrence(7, 14)
    services.generate_slots(appointment_type=passport,
                            start=national_day - datetime.timedelta(days=1), end=national_day)
    assert slots_on(passport, national_day) == []
    assert len(slots_on(passport, national_day - datetime.timedelta(days=1))) == 18


def test_swiss_national_day_is_a_holiday_in_switzerland_but_not_in_france(db, passport):
    august_first = next_occurrence(8, 1)
    geneva = OrganisationFactory(name="Commune de Carouge", slug="carouge", country="CH",
                                 time_zone="Europe/Zurich")
    swiss_agent = agent_factory(service=ServiceFactory(organisation=geneva),
                                email="guichet@carouge.example")
    counter = make_counter(geneva, holiday_subdivision="GE")
    make_availability(swiss_agent, counter)
    swiss_type = make_type(geneva, counters=[counter], agents=[swiss_agent])
    generate(swiss_type, august_first)
    generate(passport, august_first)
    assert slots_on(swiss_type, august_first, zoneinfo.ZoneInfo("Europe/Zurich")) == []
    assert len(slots_on(passport, august_first)) == 18


def test_a_subdivision_adds_its_own_holidays(organisation, agent):
    """Alsace-Moselle keeps the 26th of December; the rest of France works."""
    boxing_day = next_occurrence(12, 26)
    moselle = make_counter(organisation, name="Annexe de Metz", holiday_subdivision="57")
    national = make_counter(organisation, name="Mairie")
    make_availability(agent, moselle, ranges=[(datetime.time(9), datetime.time(12))])
    make_availability(agent, national, ranges=[(datetime.time(14), datetime.time(17))])
    passport = make_type(organisation, counters=[moselle, national], agents=[agent])
    generate(passport, boxing_day)
    counters = {s.counter_id for s in slots_on(passport, boxing_day)}
    assert counters == {national.pk}


def test_exceptional_closures_whole_day_and_part_of_a_day(passport):
    counter = passport.counters.get()
    wednesday = next_weekday(2)
    thursday = wednesday + datetime.timedelta(days=1)
    Closure.objects.create(counter=counter, starts_on=wednesday, ends_on=wednesday,
                           label="Formation de l'équipe")
    Closure.objects.create(counter=counter, starts_on=thursday, ends_on=thursday,
                           start=datetime.time(10), end=datetime.time(11))
    services.generate_slots(appointment_type=passport, start=wednesday, end=thursday)
    assert slots_on(passport, wednesday) == []
    thursday_slots = slots_on(passport, thursday)
    assert len(thursday_slots) == 18 - 3
    assert not [s for s in thursday_slots
                if datetime.time(10) <= s.start.astimezone(PARIS).time() < datetime.time(11)]


def test_an_extra_opening_on_a_holiday_staffed_by_a_dated_availability(passport, agent):
    counter = passport.counters.get()
    national_day = next_occurrence(7, 14)
    Closure.objects.create(counter=counter, kind=Closure.Kind.OPEN, starts_on=national_day,
                           ends_on=national_day, start=datetime.time(9),
                           end=datetime.time(10), label="Permanence passeports")
    generate(passport, national_day)
    # Opened, and the agent's weekly hours apply within the opening.
    assert len(slots_on(passport, national_day)) == 3
    AgentAvailability.objects.filter(agent=agent).delete()
    AgentAvailability.objects.create(agent=agent, counter=counter, on_date=national_day,
                                     start=datetime.time(9), end=datetime.time(9, 40))
    generate(passport, national_day)
    assert len(slots_on(passport, national_day)) == 2


def test_an_absence_removes_free_slots_and_withdraws_booked_ones(passport, agent):
    friday = next_weekday(4)
    generate(passport, friday)
    nine = slots_on(passport, friday)[0]
    appointment = services.book_appointment(
        appointment_type=passport, slot=nine, name="Camille Martin",
        email="camille@example.org", phone="06 12 34 56 78")
    AgentAbsence.objects.create(
        agent=agent, reason="Formation",
        starts_at=datetime.datetime.combine(friday, datetime.time(9), tzinfo=PARIS),
        ends_at=datetime.datetime.combine(friday, datetime.time(12), tzinfo=PARIS))
    report = generate(passport, friday)
    assert report.removed == 8 and report.withdrawn == 1
    nine.refresh_from_db()
    assert nine.withdrawn and nine.booked == 1  # kept for its appointment, no longer offered
    appointment.refresh_from_db()
    assert appointment.slot_id == nine.pk
    assert len(slots_on(passport, friday)) == 9  # the afternoon


def test_a_new_slot_over_a_booked_one_of_the_agent_is_held(passport, agent, organisation):
    """A type added later must not offer the agent's time already booked for another."""
    monday = next_weekday(0)
    generate(passport, monday)
    nine = slots_on(passport, monday)[0]
    services.book_appointment(appointment_type=passport, slot=nine, name="Camille Martin",
                              email="camille@example.org", phone="0612345678")
    civil = make_type(organisation, name="État civil", duration=30,
                      counters=[passport.counters.get()], agents=[agent])
    generate(civil, monday)
    first = slots_on(civil, monday)[0]
    assert first.start == nine.start and first.holds == 1
