"""A small plan for the tests: a counter open every day 9–12 and 14–17, an agent available
there the same hours, a type of 20 minutes (9 slots a half-day, 18 a day)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from mairie.appointments.models import (
    AgentAvailability,
    AppointmentType,
    Counter,
    OpeningHours,
)

MORNING = (datetime.time(9), datetime.time(12))
AFTERNOON = (datetime.time(14), datetime.time(17))


def make_counter(organisation, *, name="Accueil de la mairie", every_day=True, **kwargs):
    counter = Counter.objects.create(organisation=organisation, name=name, **kwargs)
    for weekday in range(7 if every_day else 5):
        for start, end in (MORNING, AFTERNOON):
            OpeningHours.objects.create(counter=counter, weekday=weekday, start=start, end=end)
    return counter


def make_availability(agent, counter, *, weekdays=range(7), ranges=(MORNING, AFTERNOON)):
    for weekday in weekdays:
        for start, end in ranges:
            AgentAvailability.objects.create(agent=agent, counter=counter, weekday=weekday,
                                             start=start, end=end)


def make_type(organisation, *, counters, agents, name="Passeport et carte d'identité",
              duration=20, **kwargs):
    kwargs.setdefault("min_notice_hours", 2)
    kwargs.setdefault("max_days_ahead", 60)
    appointment_type = AppointmentType.objects.create(
        organisation=organisation, name=name, duration_minutes=duration, **kwargs)
    appointment_type.counters.set(counters)
    appointment_type.agents.set(agents)
    return appointment_type


def next_weekday(weekday: int, *, at_least_days: int = 3) -> datetime.date:
    """The first `weekday` at least `at_least_days` after today, today read from the same
    clock and zone as the booking rules (`timezone.now()`), so its slots are always far enough
    ahead for the minimum notice."""
    day = timezone.localdate() + datetime.timedelta(days=at_least_days)
    while day.weekday() != weekday:
        day += datetime.timedelta(days=1)
    return day


def next_occurrence(month: int, day: int) -> datetime.date:
    """The next `day`/`month` at least a week from now."""
    today = timezone.localdate()
    found = datetime.date(today.year, month, day)
    if found < today + datetime.timedelta(days=7):
        found = datetime.date(today.year + 1, month, day)
    return found
