"""What a counter's plan says: the public holidays of its country, its open ranges on a day
(weekly hours, exceptions), an agent's ranges there (availabilities less absences), and the
slots these cut into. Pure computation over rows loaded once by `services.generate_slots`."""

from __future__ import annotations

import datetime
import functools
import zoneinfo
from collections.abc import Iterable, Sequence

import holidays

from .models import AgentAbsence, AgentAvailability, Closure, Counter, OpeningHours

Range = tuple[datetime.datetime, datetime.datetime]  # naive, local to the counter


@functools.lru_cache(maxsize=256)
def _holidays_of(country: str, subdivision: str, year: int) -> dict[datetime.date, str]:
    calendar = holidays.country_holidays(country, subdiv=subdivision or None, years=year,
                                         language="fr")
    return dict(calendar.items())


def public_holidays(counter: Counter, start: datetime.date,
                    end: datetime.date) -> dict[datetime.date, str]:
    """The public holidays between `start` and `end` (inclusive) where the counter is:
    national ones of the organisation's country, plus its subdivision's (a Swiss canton,
    Alsace-Moselle) when the counter names one."""
    country = counter.organisation.country
    found: dict[datetime.date, str] = {}
    for year in range(start.year, end.year + 1):
        for day, name in _holidays_of(country, counter.holiday_subdivision, year).items():
            if start <= day <= end:
                found[day] = name
    return found


def _at(day: datetime.date, moment: datetime.time) -> datetime.datetime:
    return datetime.datetime.combine(day, moment)


def _normalised(ranges: Iterable[Range]) -> list[Range]:
    """Sorted, overlapping or touching ranges merged."""
    merged: list[Range] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def intersection(left: Sequence[Range], right: Sequence[Range]) -> list[Range]:
    found = []
    for a_start, a_end in left:
        for b_start, b_end in right:
            start, end = max(a_start, b_start), min(a_end, b_end)
            if start < end:
                found.append((start, end))
    return _normalised(found)


def _difference(ranges: Sequence[Range], removed: Sequence[Range]) -> list[Range]:
    remaining = list(ranges)
    for r_start, r_end in removed:
        cut: list[Range] = []
        for start, end in remaining:
            if r_end <= start or end <= r_start:
                cut.append((start, end))
                continue
            if start < r_start:
                cut.append((start, r_start))
            if r_end < end:
                cut.append((r_end, end))
        remaining = cut
    return remaining


def counter_ranges(day: datetime.date, *, hours: Sequence[OpeningHours],
                   closures: Sequence[Closure], holiday: bool) -> list[Range]:
    """When the counter is open on `day`: its weekly hours (none on a public holiday), plus
    extra openings, less exceptional closures."""
    ranges = [] if holiday else [(_at(day, h.start), _at(day, h.end)) for h in hours
                                 if h.weekday == day.weekday()]
    todays = [c for c in closures if c.starts_on <= day <= c.ends_on]
    ranges += [(_at(day, c.start), _at(day, c.end)) for c in todays
               if c.kind == Closure.Kind.OPEN and c.start and c.end]
    ranges = _normalised(ranges)
    for closure in todays:
        if closure.kind != Closure.Kind.CLOSED:
            continue
        if closure.start is None or closure.end is None:
            return []
        ranges = _difference(ranges, [(_at(day, closure.start), _at(day, closure.end))])
    return ranges


def agent_ranges(day: datetime.date, *, availabilities: Sequence[AgentAvailability],
                 absences: Sequence[AgentAbsence], zone: zoneinfo.ZoneInfo) -> list[Range]:
    """When the agent receives on `day` at the counter, less their absences."""
    ranges = _normalised((_at(day, a.start), _at(day, a.end)) for a in availabilities
                         if a.applies_on(day))
    away = [(absence.starts_at.astimezone(zone).replace(tzinfo=None),
             absence.ends_at.astimezone(zone).replace(tzinfo=None)) for absence in absences]
    return _difference(ranges, away)


def cut_into_slots(ranges: Sequence[Range], duration: datetime.timedelta,
                   zone: zoneinfo.ZoneInfo) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """Back-to-back slots of `duration` from the start of each range (a remainder shorter than
    a slot is left out), as aware datetimes."""
    slots = []
    for start, end in ranges:
        moment = start
        while moment + duration <= end:
            slots.append((moment.replace(tzinfo=zone),
                          (moment + duration).replace(tzinfo=zone)))
            moment += duration
    return slots
