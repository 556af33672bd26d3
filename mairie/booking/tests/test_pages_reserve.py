"""The reservation form: one slot or a recurrence (simple choices or a raw RRULE), the
conflict report with its choice (book the free occurrences, or change the request), and the
refusals shown on the form with the typed input kept."""

import datetime

import pytest
from django.urls import reverse

from mairie.booking import services
from mairie.booking.models import Reservation, ReservationSeries
from mairie.core.audit.models import AuditEvent

from .conftest import at, next_thursday

pytestmark = pytest.mark.django_db


def slot(moment, **extra):
    data = {"day": moment.date().isoformat(), "start": "14:00", "end": "16:00",
            "title": "Réunion d'équipe", "repeat": ""}
    data.update(extra)
    return data


def test_a_single_reservation_is_booked_and_audited(client, agent, room):
    client.force_login(agent)
    url = reverse("booking:reserve", args=[room.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, slot(next_thursday(14)))
    assert response.status_code == 302 and response["Location"] == reverse("booking:mine")
    reservation = Reservation.objects.get()
    assert (reservation.start, reservation.end) == (next_thursday(14), next_thursday(16))
    assert reservation.title == "Réunion d'équipe" and reservation.booker == agent
    assert AuditEvent.objects.filter(action="booking.reserved").count() == 1
    assert "Réservation enregistrée" in client.get(response["Location"]).content.decode()


def test_the_form_is_prefilled_from_the_free_search(client, agent, room):
    client.force_login(agent)
    day = next_thursday(14).date().isoformat()
    response = client.get(reverse("booking:resources"),
                          {"day": day, "start": "14:00", "end": "17:00", "min_capacity": "8"})
    link = (f'{reverse("booking:reserve", args=[room.pk])}'
            f'?day={day}&amp;start=14%3A00&amp;end=17%3A00')
    assert link in response.content.decode()
    page = client.get(reverse("booking:reserve", args=[room.pk]),
                      {"day": day, "start": "14:00", "end": "17:00"}).content.decode()
    assert f'value="{day}"' in page and 'value="14:00"' in page and 'value="17:00"' in page


def test_a_taken_slot_is_refused_on_the_form_with_who_holds_it(client, agent, colleague,
                                                               room):
    services.reserve(actor=colleague, resource=room, start=next_thursday(15),
                     end=next_thursday(17))
    client.force_login(agent)
    response = client.post(reverse("booking:reserve", args=[room.pk]), slot(next_thursday(14)))
    assert response.status_code == 200
    page = response.content.decode()
    assert "error-summary" in page and "Paul Collègue" in page
    assert 'value="Réunion d&#x27;équipe"' in page  # the draft survives
    assert Reservation.objects.count() == 1


def test_a_weekly_series_without_conflict_is_booked_at_once(client, agent, room):
    client.force_login(agent)
    response = client.post(reverse("booking:reserve", args=[room.pk]),
                           slot(next_thursday(14), repeat="weekly", count="4"))
    assert response.status_code == 302
    series = ReservationSeries.objects.get()
    assert series.rrule == "FREQ=WEEKLY;COUNT=4"
    assert series.reservations.count() == 4


@pytest.mark.parametrize(("choice", "rule", "weeks"), [
    ("weekly", "FREQ=WEEKLY;UNTIL={until}T235959", [0, 1, 2]),
    ("biweekly", "FREQ=WEEKLY;INTERVAL=2;UNTIL={until}T235959", [0, 2]),
])
def test_a_series_ended_by_a_date(client, agent, room, choice, rule, weeks):
    client.force_login(agent)
    until = next_thursday(14, weeks=2).date()
    client.post(reverse("booking:reserve", args=[room.pk]),
                slot(next_thursday(14), repeat=choice, until=until.isoformat()))
    series = ReservationSeries.objects.get()
    assert series.rrule == rule.format(until=until.strftime("%Y%m%d"))
    assert [r.start for r in series.reservations.order_by("start")] == [
        next_thursday(14, weeks=w) for w in weeks]


def test_a_monthly_series(client, agent, make_resource):
    room = make_resource("Salle polyvalente", max_days_ahead=200)
    client.force_login(agent)
    client.post(reverse("booking:reserve", args=[room.pk]),
                slot(at(3, 14), repeat="monthly", count="3"))
    assert ReservationSeries.objects.get().rrule == "FREQ=MONTHLY;COUNT=3"
    assert Reservation.objects.count() >= 2  # a 29th–31st skips the months without it


def test_the_conflict_report_then_booking_the_free_occurrences(client, agent, colleague, room):
    taken = services.reserve(actor=colleague, resource=room, start=next_thursday(15, weeks=1),
                             end=next_thursday(16, weeks=1), title="Jury")
    client.force_login(agent)
    url = reverse("booking:reserve", args=[room.pk])
    data = slot(next_thursday(14), repeat="weekly", count="4")
    response = client.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 occurrence est déjà prise" in page
    assert "Sur 4 occurrences, 3 sont libres." in page
    assert "Paul Collègue" in page and "15:00–16:00" in page
    assert next_thursday(14, weeks=1).strftime("%d/%m/%Y") in page
    assert "Jury" not in page  # the colleague's title is not shown
    assert "Réserver seulement les 3 occurrences libres" in page
    assert "Modifier la demande" in page and 'value="Réunion d&#x27;équipe"' in page
    # Nothing is written by the report, not even the audit trail.
    assert Reservation.objects.count() == 1 and not ReservationSeries.objects.exists()
    assert not AuditEvent.objects.filter(action="booking.series_reserved").exists()

    response = client.post(url, {**data, "confirm": "1"})
    assert response.status_code == 302
    series = ReservationSeries.objects.get()
    assert [r.start for r in series.reservations.order_by("start")] == [
        next_thursday(14, weeks=w) for w in (0, 2, 3)]
    taken.refresh_from_db()
    assert taken.state == "confirmed"
    page = client.get(response["Location"]).content.decode()
    assert "3 occurrences réservées. 1 occurrence n&#x27;est pas réservée" in page


def test_a_series_with_every_occurrence_taken_offers_no_confirmation(client, agent, colleague,
                                                                     room):
    for week in range(2):
        services.reserve(actor=colleague, resource=room, start=next_thursday(14, weeks=week),
                         end=next_thursday(16, weeks=week))
    client.force_login(agent)
    response = client.post(reverse("booking:reserve", args=[room.pk]),
                           slot(next_thursday(14), repeat="weekly", count="2"))
    page = response.content.decode()
    assert response.status_code == 200 and "Aucune occurrence n'est libre" in page
    assert "Réserver seulement" not in page
    response = client.post(reverse("booking:reserve", args=[room.pk]),
                           {**slot(next_thursday(14), repeat="weekly", count="2"),
                            "confirm": "1"})
    assert response.status_code == 200 and not ReservationSeries.objects.exists()


@pytest.mark.parametrize(("extra", "field", "message"), [
    ({"repeat": "weekly"}, "until", "Une série doit finir"),
    ({"repeat": "weekly", "count": "3", "until": "2999-01-01"}, "count", "pas les deux"),
    ({"repeat": "custom", "rrule": ""}, "rrule", "Indiquez la règle"),
    ({"repeat": "custom", "rrule": "FREQ=WEEKLY"}, "rrule", "pas de fin"),
    ({"repeat": "custom", "rrule": "FREQ=SOMETIMES;COUNT=3"}, "rrule", "pas valide"),
    ({"repeat": "custom", "rrule": "FREQ=WEEKLY;COUNT=40"}, "rrule", "fenêtre de réservation"),
    ({"repeat": "weekly", "count": "40"}, "repeat", "fenêtre de réservation"),
])
def test_an_impossible_recurrence_is_a_clear_error(client, agent, room, extra, field, message):
    client.force_login(agent)
    response = client.post(reverse("booking:reserve", args=[room.pk]),
                           slot(next_thursday(14), **extra))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])
    page = response.content.decode()
    assert "error-summary" in page and f'id="id_{field}_error"' in page
    assert not Reservation.objects.exists()


def test_an_until_before_the_first_day_gives_no_occurrence(client, agent, room):
    client.force_login(agent)
    response = client.post(reverse("booking:reserve", args=[room.pk]),
                           slot(next_thursday(14), repeat="custom",
                                rrule=f"FREQ=WEEKLY;UNTIL={at(1, 0):%Y%m%d}T000000"))
    assert "aucune occurrence" in " ".join(response.context["form"].errors["rrule"])


def test_past_date_window_duration_and_quota_are_clear_errors(client, agent, make_resource):
    room = make_resource("Bureau 4", max_days_ahead=30, quota_future_reservations=1,
                         max_duration=datetime.timedelta(hours=3))
    client.force_login(agent)
    url = reverse("booking:reserve", args=[room.pk])
    past = client.post(url, slot(at(-1, 14)))
    assert "déjà passé" in " ".join(past.context["form"].errors["day"])
    far = client.post(url, slot(at(45, 14)))
    assert "30 jours à l&#x27;avance" in far.content.decode()
    assert "day" in far.context["form"].errors
    long = client.post(url, slot(at(3, 9), start="09:00", end="17:00"))
    assert "dure au plus 3 h" in " ".join(long.context["form"].errors["end"])
    backwards = client.post(url, slot(at(3, 9), start="15:00", end="14:00"))
    assert "après le début" in " ".join(backwards.context["form"].errors["end"])
    assert client.post(url, slot(at(3, 14))).status_code == 302
    quota = client.post(url, slot(at(4, 14)))
    assert quota.status_code == 200
    assert "maximum par personne" in " ".join(quota.context["form"].non_field_errors())
    assert Reservation.objects.count() == 1


def test_a_resource_needing_approval_makes_a_request(client, agent, make_resource,
                                                    other_service):
    hall = make_resource("Salle des fêtes", owner=other_service, requires_approval=True)
    client.force_login(agent)
    response = client.post(reverse("booking:reserve", args=[hall.pk]), slot(next_thursday(14)),
                           follow=True)
    assert "attend la validation" in response.content.decode()
    assert Reservation.objects.get().state == "requested"


def test_who_may_not_book_gets_nothing(client, agent, planner, foreign_agent, make_resource,
                                      service, administrator):
    reserved = make_resource("Salle du maire", rights=[(service, "")])
    url = reverse("booking:reserve", args=[reserved.pk])
    client.force_login(planner)  # another service: does not even see it
    assert client.get(url).status_code == 404
    assert client.post(url, slot(next_thursday(14))).status_code == 404
    client.force_login(foreign_agent)
    assert client.get(url, HTTP_HOST="autre.localhost").status_code == 404
    assert client.get(url).status_code in (302, 403)  # not an agent of this organisation
    assert not Reservation.objects.exists()
    services.set_resource_active(actor=administrator, resource=reserved, active=False)
    client.force_login(agent)
    assert client.get(url).status_code == 403  # visible (own service) but not bookable
