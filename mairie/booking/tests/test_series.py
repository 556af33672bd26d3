"""Recurring reservations (RFC 5545 RRULE): the free occurrences are booked, the others come
back in a conflict report; a rule that cannot be booked is refused before anything is."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from mairie.booking import services
from mairie.booking.models import Reservation, ReservationSeries
from mairie.core.audit.models import AuditEvent

from .conftest import PARIS, at, next_thursday

pytestmark = pytest.mark.django_db


def test_a_weekly_series_books_the_free_weeks_and_reports_the_clash(agent, colleague, room):
    taken = services.reserve(actor=colleague, resource=room, start=next_thursday(15, weeks=2),
                             end=next_thursday(16, weeks=2), title="Jury")
    result = services.reserve_series(actor=agent, resource=room, start=next_thursday(14),
                                     end=next_thursday(16), rrule="FREQ=WEEKLY;COUNT=6",
                                     title="Réunion d'équipe")
    assert len(result.reservations) == 5
    assert [r.start for r in result.reservations] == [
        next_thursday(14, weeks=w) for w in (0, 1, 3, 4, 5)]
    assert all(r.series == result.series and r.state == "confirmed"
               for r in result.reservations)
    [clash] = result.conflicts
    assert clash.date == next_thursday(14, weeks=2).date()
    assert clash.reservation == taken
    assert "Paul Collègue" in clash.reason
    assert next_thursday(15, weeks=2).strftime("%d/%m/%Y 15:00–16:00") in clash.reason
    assert result.series.rrule == "FREQ=WEEKLY;COUNT=6"
    event = AuditEvent.objects.get(action="booking.series_reserved")
    assert event.details["booked"] == 5 and len(event.details["conflicts"]) == 1


def test_a_series_keeps_its_local_hour_across_daylight_saving(agent, make_resource):
    room = make_resource("Salle polyvalente", capacity=30, max_days_ahead=366)
    result = services.reserve_series(actor=agent, resource=room, start=next_thursday(18),
                                     end=next_thursday(20), rrule="RRULE:FREQ=WEEKLY;COUNT=30")
    assert len(result.reservations) == 30 and not result.conflicts
    offsets = {r.start.astimezone(PARIS).utcoffset() for r in result.reservations}
    assert len(offsets) == 2  # 30 weeks always cross a change of time
    assert {r.start.astimezone(PARIS).hour for r in result.reservations} == {18}
    assert {r.end - r.start for r in result.reservations} == {datetime.timedelta(hours=2)}


def test_until_in_utc_is_understood(agent, room):
    until = (next_thursday(14, weeks=2) + datetime.timedelta(hours=1)).astimezone(
        datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    result = services.reserve_series(actor=agent, resource=room, start=next_thursday(14),
                                     end=next_thursday(15), rrule=f"FREQ=WEEKLY;UNTIL={until}")
    assert len(result.reservations) == 3


@pytest.mark.parametrize(("rule", "message"), [
    ("FREQ=SOMETIMES;COUNT=3", "n'est pas valide"),
    ("FREQ=WEEKLY;BYDAY=XX;COUNT=3", "n'est pas valide"),
    ("FREQ=WEEKLY", "n'a pas de fin"),
    ("FREQ=YEARLY;COUNT=3;BYMONTH=2;BYMONTHDAY=31", "aucune occurrence"),
    ("FREQ=HOURLY;COUNT=500", "plus de 200 occurrences"),
    ("DTSTART:20300101T100000\nRRULE:FREQ=DAILY;COUNT=2", "une seule règle"),
    ("", "Indiquez la règle"),
])
def test_an_impossible_recurrence_is_refused_and_books_nothing(agent, room, rule, message):
    with pytest.raises(ValidationError) as refused:
        services.reserve_series(actor=agent, resource=room, start=next_thursday(14),
                                end=next_thursday(15), rrule=rule)
    assert message in refused.value.message_dict["rrule"][0]
    assert not Reservation.objects.exists() and not ReservationSeries.objects.exists()


def test_a_series_reaching_beyond_the_window_is_refused(agent, make_resource):
    room = make_resource("Salle Jaurès", capacity=10, max_days_ahead=30)
    with pytest.raises(ValidationError) as refused:
        services.reserve_series(actor=agent, resource=room, start=at(2, 10), end=at(2, 11),
                                rrule="FREQ=WEEKLY;COUNT=10")
    last_day = (at(0, 0) + datetime.timedelta(days=30)).strftime("%d/%m/%Y")
    text = refused.value.message_dict["rrule"][0]
    assert "dépasse la fenêtre de réservation" in text and last_day in text
    assert not Reservation.objects.exists()
    result = services.reserve_series(actor=agent, resource=room, start=at(2, 10),
                                     end=at(2, 11), rrule="FREQ=WEEKLY;COUNT=5")
    assert len(result.reservations) == 5


def test_a_series_too_long_per_occurrence_is_refused(agent, make_resource):
    room = make_resource("Salle courte", capacity=4, max_duration=datetime.timedelta(hours=1))
    with pytest.raises(ValidationError, match="dure au plus 1 h"):
        services.reserve_series(actor=agent, resource=room, start=at(2, 10), end=at(2, 12),
                                rrule="FREQ=DAILY;COUNT=3")


def test_the_quota_stops_a_series_and_says_so(agent, make_resource):
    car = make_resource("Zoé", kind="vehicle", capacity=4, quota_future_reservations=3)
    result = services.reserve_series(actor=agent, resource=car, start=at(1, 8), end=at(1, 9),
                                     rrule="FREQ=DAILY;COUNT=5")
    assert len(result.reservations) == 3
    assert [c.date for c in result.conflicts] == [at(4, 8).date(), at(5, 8).date()]
    assert all(c.reservation is None and "maximum par personne" in c.reason
               for c in result.conflicts)


def test_a_series_with_every_occurrence_taken_books_nothing(agent, colleague, room):
    services.reserve(actor=colleague, resource=room, start=next_thursday(8),
                     end=next_thursday(20))
    result = services.reserve_series(actor=agent, resource=room, start=next_thursday(14),
                                     end=next_thursday(15), rrule="FREQ=HOURLY;COUNT=3")
    assert result.series is None and not result.reservations
    assert len(result.conflicts) == 3
    assert not ReservationSeries.objects.exists()


def test_cancelling_a_series_from_one_occurrence_on(agent, room):
    result = services.reserve_series(actor=agent, resource=room, start=next_thursday(14),
                                     end=next_thursday(15), rrule="FREQ=WEEKLY;COUNT=4")
    cancelled = services.cancel(actor=agent, reservation=result.reservations[2],
                                whole_series=True)
    assert [r.start for r in cancelled] == [next_thursday(14, weeks=w) for w in (2, 3)]
    states = list(Reservation.objects.order_by("start").values_list("state", flat=True))
    assert states == ["confirmed", "confirmed", "cancelled", "cancelled"]
