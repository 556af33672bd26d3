"""REST API of the appointments: the public offer (types, free slots by cursor), booking by a
resident or by an agent's tool for a resident, 409 with the next free slots when the slot was
just taken, 400 with field errors, and nobody reading or cancelling someone else's
appointment — another citizen, another counter's agent, another collectivité."""

import datetime

import pytest
from django.utils import timezone

from mairie.api.services import create_token
from mairie.appointments import services
from mairie.appointments.models import Appointment, Slot
from mairie.core.audit.models import AuditEvent
from mairie.core.factories import ServiceFactory, UserFactory, agent_factory
from mairie.core.organisation.models import Role

from .plan import make_availability, make_counter, make_type, next_weekday

TYPES = "/api/v1/appointment-types/"
APPOINTMENTS = "/api/v1/appointments/"
COUNTERS = "/api/v1/counters/"
RESIDENT = {"name": "Camille Martin", "email": "camille@example.org", "phone": "06 12 34 56 78"}

pytestmark = pytest.mark.django_db


def token(user, scopes=("read", "write")) -> dict:
    _token, raw = create_token(actor=user, organisation=user.organisation, name="Outil",
                               scopes=list(scopes))
    return {"HTTP_AUTHORIZATION": f"Token {raw}"}


def post(client, url, data=None, headers=None):
    return client.post(url, data or {}, content_type="application/json", **(headers or {}))


@pytest.fixture
def counter(organisation):
    return make_counter(organisation, address="1 place de la Mairie")


@pytest.fixture
def monday():
    return next_weekday(0)


@pytest.fixture
def passport(organisation, agent, counter, monday):
    make_availability(agent, counter)
    appointment_type = make_type(organisation, counters=[counter], agents=[agent])
    services.generate_slots(appointment_type=appointment_type, start=monday, end=monday)
    return appointment_type


def slots_of(appointment_type):
    return list(Slot.objects.filter(appointment_type=appointment_type).order_by("start"))


# --- The public offer ------------------------------------------------------------------------


def test_anyone_lists_the_bookable_types_of_the_address_only(client, organisation, passport,
                                                             other_organisation):
    make_type(organisation, counters=[], agents=[], name="Ancien type", is_active=False)
    make_type(other_organisation, counters=[], agents=[], name="Type d'Ailleurs")
    response = client.get(TYPES)
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert [t["name"] for t in results] == ["Passeport et carte d'identité"]
    assert results[0]["duration_minutes"] == 20
    assert results[0]["counters"][0]["address"] == "1 place de la Mairie"


def test_free_slots_come_by_cursor_in_time_order(client, passport, monday):
    first = client.get(f"{TYPES}{passport.pk}/slots/", {"page_size": 5})
    assert first.status_code == 200, first.json()
    page = first.json()
    assert len(page["results"]) == 5 and page["next"] and "count" not in page
    starts = [s["start"] for s in page["results"]]
    assert starts == sorted(starts) and starts[0].startswith(f"{monday.isoformat()}T09:00")
    assert starts[0].endswith(("+01:00", "+02:00"))  # local time of the collectivité
    second = client.get(page["next"]).json()
    assert second["results"][0]["start"] > starts[-1]
    assert {s["id"] for s in second["results"]}.isdisjoint(s["id"] for s in page["results"])


def test_free_slots_after_a_moment_and_without_taken_ones(client, passport, monday):
    slots = slots_of(passport)
    services.book_appointment(appointment_type=passport, slot=slots[9], **RESIDENT)
    response = client.get(f"{TYPES}{passport.pk}/slots/", {"after": f"{monday}T14:00"})
    results = response.json()["results"]
    assert results[0]["start"].startswith(f"{monday.isoformat()}T14:20")  # 14:00 is taken
    assert str(slots[9].pk) not in {s["id"] for s in results}
    assert results[0]["free_seats"] == 1


@pytest.mark.parametrize(("params", "field"), [
    ({"after": "lundi"}, "after"),
    ({"counter": "pas-un-id"}, "counter"),
    ({"counter": "00000000-0000-0000-0000-000000000000"}, "counter"),
])
def test_bad_slot_filters_answer_400_with_the_field(client, passport, params, field):
    response = client.get(f"{TYPES}{passport.pk}/slots/", params)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and field in response.json()["errors"]


def test_another_collectivites_type_is_not_found(client, other_organisation, agent):
    counter = make_counter(other_organisation)
    elsewhere = make_type(other_organisation, counters=[counter], agents=[])
    assert client.get(f"{TYPES}{elsewhere.pk}/slots/").status_code == 404
    assert client.get(f"{TYPES}{elsewhere.pk}/").status_code == 404


# --- Booking -----------------------------------------------------------------------------------


def test_a_resident_books_with_their_account_and_finds_it_in_their_list(client, passport,
                                                                        resident):
    slot = slots_of(passport)[0]
    client.force_login(resident)
    response = post(client, APPOINTMENTS, {"slot": str(slot.pk), "phone": "0612345678"})
    assert response.status_code == 201, response.json()
    body = response.json()
    appointment = Appointment.objects.get(pk=body["id"])
    assert appointment.account == resident and appointment.booked_by == resident
    assert body["email"] == resident.email and body["status"] == "booked"
    assert body["counter"]["name"] == "Accueil de la mairie"
    assert AuditEvent.objects.filter(action="appointments.booked", actor=resident).exists()
    mine = client.get(APPOINTMENTS).json()["results"]
    assert [a["id"] for a in mine] == [body["id"]]


def test_an_agents_tool_books_for_a_resident_without_an_account(client, passport, agent):
    slot = slots_of(passport)[0]
    response = post(client, APPOINTMENTS, {"slot": str(slot.pk), **RESIDENT},
                    token(agent, ["appointments:write"]))
    assert response.status_code == 201, response.json()
    appointment = Appointment.objects.get(pk=response.json()["id"])
    assert appointment.account is None and appointment.booked_by == agent
    assert appointment.phone_key == "+33612345678"


def test_an_agent_booking_with_a_residents_address_joins_their_account(client, passport,
                                                                      agent, resident):
    response = post(client, APPOINTMENTS, {"slot": str(slots_of(passport)[0].pk),
                                           "name": "Paul Habitant",
                                           "email": "HABITANT@example.org"}, token(agent))
    assert response.status_code == 201, response.json()
    assert Appointment.objects.get().account == resident


def test_a_slot_just_taken_answers_409_with_the_next_free_slots(client, passport, resident):
    slot = slots_of(passport)[0]
    services.book_appointment(appointment_type=passport, slot=slot, **RESIDENT)  # faster
    client.force_login(resident)
    response = post(client, APPOINTMENTS, {"slot": str(slot.pk)})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "slot_taken" and "vient d'être pris" in body["detail"]
    assert body["next_slots"] and str(slot.pk) not in {s["id"] for s in body["next_slots"]}
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(("data", "field"), [
    ({}, "slot"),
    ({"slot": "pas-un-id"}, "slot"),
    ({"slot": "00000000-0000-0000-0000-000000000000"}, "slot"),
    ({"phone": "12"}, "phone"),
    ({"name": ""}, "name"),
    ({"email": "pas-un-courriel"}, "email"),
])
def test_bad_bookings_answer_400_with_the_field(client, passport, agent, data, field):
    body = {"slot": str(slots_of(passport)[0].pk), **RESIDENT, **data}
    if not data:
        body.pop("slot")
    response = post(client, APPOINTMENTS, body, token(agent))
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid" and field in response.json()["errors"]
    assert not Appointment.objects.exists()


def test_refusals_of_the_service_answer_400_with_the_reason(client, passport, resident):
    slots = slots_of(passport)
    client.force_login(resident)
    assert post(client, APPOINTMENTS, {"slot": str(slots[0].pk)}).status_code == 201
    second = post(client, APPOINTMENTS, {"slot": str(slots[1].pk)})  # one future at most
    assert second.status_code == 400
    assert "maximum" in second.json()["errors"]["non_field_errors"][0]


def test_without_a_phone_an_agent_cannot_book_for_someone_without_an_account(client, passport,
                                                                              agent):
    response = post(client, APPOINTMENTS, {"slot": str(slots_of(passport)[0].pk),
                                           "name": "Inconnu", "email": "x@example.org"},
                    token(agent))
    assert response.status_code == 400
    assert "téléphone" in response.json()["errors"]["non_field_errors"][0]


def test_booking_needs_authentication_and_the_write_scope(client, passport, resident):
    slot = str(slots_of(passport)[0].pk)
    assert post(client, APPOINTMENTS, {"slot": slot}).status_code in (401, 403)
    response = post(client, APPOINTMENTS, {"slot": slot},
                    token(resident, ["appointments:read"]))
    assert response.status_code == 403 and response.json()["code"] == "scope_missing"


def test_a_slot_of_another_collectivite_cannot_be_booked_here(client, other_organisation,
                                                              resident):
    counter = make_counter(other_organisation)
    elsewhere_agent = agent_factory(service=ServiceFactory(organisation=other_organisation),
                                    email="a@ailleurs.example")
    make_availability(elsewhere_agent, counter)
    elsewhere = make_type(other_organisation, counters=[counter], agents=[elsewhere_agent])
    day = next_weekday(0)
    services.generate_slots(appointment_type=elsewhere, start=day, end=day)
    client.force_login(resident)
    response = post(client, APPOINTMENTS, {"slot": str(slots_of(elsewhere)[0].pk)})
    assert response.status_code == 400 and "slot" in response.json()["errors"]
    assert not Appointment.objects.exists()


def test_a_foreign_token_does_not_work_on_this_address(client, passport, foreign_agent):
    response = post(client, APPOINTMENTS, {"slot": str(slots_of(passport)[0].pk), **RESIDENT},
                    token(foreign_agent))
    assert response.status_code == 401


# --- One's own appointments -------------------------------------------------------------------


def test_another_citizen_can_neither_read_nor_cancel_my_appointment(client, passport,
                                                                    resident, organisation):
    mine = services.book_appointment(appointment_type=passport, slot=slots_of(passport)[0],
                                     account=resident, actor=resident)
    other = UserFactory(organisation=organisation, email="voisin@example.org")
    client.force_login(other)
    assert client.get(APPOINTMENTS).json()["results"] == []
    assert client.get(f"{APPOINTMENTS}{mine.pk}/").status_code == 404
    assert post(client, f"{APPOINTMENTS}{mine.pk}/cancel/").status_code == 404
    mine.refresh_from_db()
    assert mine.status == Appointment.Status.BOOKED


def test_a_resident_cancels_and_the_seat_is_free_again(client, passport, resident):
    slot = slots_of(passport)[0]
    mine = services.book_appointment(appointment_type=passport, slot=slot, account=resident,
                                     actor=resident)
    client.force_login(resident)
    response = post(client, f"{APPOINTMENTS}{mine.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    slot.refresh_from_db()
    assert slot.is_free
    again = post(client, f"{APPOINTMENTS}{mine.pk}/cancel/")
    assert again.status_code == 400 and "déjà annulé" in again.json()["errors"][
        "non_field_errors"][0]


# --- Agents: the day at a counter -------------------------------------------------------------


@pytest.fixture
def today_booked(passport, monday):
    return services.book_appointment(appointment_type=passport, slot=slots_of(passport)[0],
                                     **RESIDENT)


def test_an_agent_reads_the_day_of_a_counter_where_they_receive_and_it_is_audited(
        client, agent, counter, today_booked, monday):
    headers = token(agent, ["appointments:read"])
    counters = client.get(COUNTERS, **headers).json()["results"]
    assert [c["id"] for c in counters] == [str(counter.pk)]
    response = client.get(f"{COUNTERS}{counter.pk}/appointments/", {"date": monday},
                          **headers)
    assert response.status_code == 200, response.json()
    rows = response.json()["results"]
    assert [r["name"] for r in rows] == ["Camille Martin"]
    assert rows[0]["phone"] == RESIDENT["phone"] and rows[0]["with_account"] is False
    event = AuditEvent.objects.get(action="appointments.day_read")
    assert event.actor == agent and event.details["count"] == 1
    empty = client.get(f"{COUNTERS}{counter.pk}/appointments/", **headers).json()
    assert monday != timezone.localdate() and empty["results"] == []
    bad = client.get(f"{COUNTERS}{counter.pk}/appointments/", {"date": "demain"}, **headers)
    assert bad.status_code == 400 and "date" in bad.json()["errors"]


def test_another_services_agent_does_not_read_a_counter_where_they_do_not_receive(
        client, other_service, counter, today_booked, monday):
    stranger = agent_factory(service=other_service, email="urba@valmont.example")
    headers = token(stranger)
    assert client.get(COUNTERS, **headers).json()["results"] == []
    response = client.get(f"{COUNTERS}{counter.pk}/appointments/", {"date": monday},
                          **headers)
    assert response.status_code == 404
    manager = agent_factory(service=other_service, role=Role.MANAGER,
                            email="chef@valmont.example")
    assert client.get(f"{COUNTERS}{counter.pk}/appointments/",
                      **token(manager)).status_code == 404  # another service's manager
    director = agent_factory(service=other_service, role=Role.DIRECTOR,
                             email="dgs@valmont.example")
    rows = client.get(f"{COUNTERS}{counter.pk}/appointments/", {"date": monday},
                      **token(director)).json()["results"]
    assert len(rows) == 1  # directors read every counter


def test_residents_and_other_collectivites_do_not_reach_the_desk(client, resident, counter,
                                                                 foreign_agent):
    response = client.get(COUNTERS, **token(resident))
    assert response.status_code == 403
    assert client.get(f"{COUNTERS}{counter.pk}/appointments/",
                      HTTP_HOST="autre.localhost", **token(foreign_agent)).status_code == 404


def test_an_agent_of_another_service_cannot_book_or_cancel_at_this_desk(
        client, passport, other_service, today_booked):
    stranger = token(agent_factory(service=other_service, email="urba@valmont.example"))
    booked = post(client, APPOINTMENTS, {"slot": str(slots_of(passport)[3].pk), **RESIDENT,
                                         "email": "autre@example.org"}, stranger)
    assert booked.status_code == 403
    cancelled = post(client, f"{APPOINTMENTS}{today_booked.pk}/cancel/", headers=stranger)
    assert cancelled.status_code == 404
    today_booked.refresh_from_db()
    assert today_booked.status == Appointment.Status.BOOKED


def test_an_agent_cancels_for_a_resident_at_their_desk(client, agent, today_booked):
    response = post(client, f"{APPOINTMENTS}{today_booked.pk}/cancel/", headers=token(agent))
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


DESK = "/api/v1/desk-appointments/"


@pytest.fixture
def begun(today_booked):
    """The appointment, moved (for the test) to an hour ago today."""
    Appointment.objects.filter(pk=today_booked.pk).update(
        starts_at=timezone.now() - datetime.timedelta(minutes=5))
    return today_booked


def test_the_desk_notes_the_arrival_and_a_second_agent_gets_409(client, agent, service,
                                                                begun):
    response = post(client, f"{DESK}{begun.pk}/check-in/", {}, token(agent))
    assert response.status_code == 200, response.json()
    assert response.json()["attendance"] == "arrived"
    assert AuditEvent.objects.filter(action="appointments.checked_in", actor=agent).exists()
    colleague = agent_factory(service=service, email="collegue@valmont.example")
    late = post(client, f"{DESK}{begun.pk}/no-show/", {"expected": ""}, token(colleague))
    assert late.status_code == 409 and late.json()["code"] == "stale"
    assert late.json()["current"]["attendance"] == "arrived"
    begun.refresh_from_db()
    assert begun.attendance == Appointment.Attendance.ARRIVED


def test_no_show_before_the_time_is_refused_and_other_desks_get_404(client, agent,
                                                                    other_service,
                                                                    today_booked):
    early = post(client, f"{DESK}{today_booked.pk}/no-show/", {}, token(agent))
    assert early.status_code == 400 and "heure du rendez-vous" in early.json()["errors"][
        "non_field_errors"][0]
    bad = post(client, f"{DESK}{today_booked.pk}/no-show/", {"expected": "peut-être"},
               token(agent))
    assert bad.status_code == 400 and "expected" in bad.json()["errors"]
    stranger = agent_factory(service=other_service, email="urba@valmont.example")
    assert post(client, f"{DESK}{today_booked.pk}/check-in/", {},
                token(stranger)).status_code == 404
    assert client.get(f"{DESK}{today_booked.pk}/", **token(stranger)).status_code == 404
    assert client.get(f"{DESK}{today_booked.pk}/", **token(agent)).status_code == 200
    assert AuditEvent.objects.filter(action="appointments.read", actor=agent).exists()


def test_the_schema_documents_the_appointments_endpoints(client, organisation):
    schema = client.get("/api/v1/schema/",
                        HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    assert {"/api/v1/appointment-types/", "/api/v1/appointment-types/{id}/slots/",
            "/api/v1/appointments/", "/api/v1/appointments/{id}/cancel/",
            "/api/v1/counters/{id}/appointments/", "/api/v1/desk-appointments/{id}/check-in/",
            "/api/v1/desk-appointments/{id}/no-show/"} <= set(paths)
    assert paths["/api/v1/appointments/"]["post"]["x-required-scope"] == "appointments:write"
    assert "409" in paths["/api/v1/appointments/"]["post"]["responses"]
