"""REST API of the booking: resources an agent sees, the free ones over a range, reserving
(201, 409 with the clash, 400 with the field), series with their conflict report, one's
reservations and loans, cancelling — and nobody outside reading or changing them (another
service, another collectivité, a resident)."""

import datetime

import pytest

from mairie.api.services import create_token
from mairie.booking import services
from mairie.booking.models import Reservation
from mairie.core.audit.models import AuditEvent

from .conftest import next_thursday

pytestmark = pytest.mark.django_db

RESOURCES = "/api/v1/resources/"
RESERVATIONS = "/api/v1/reservations/"
SERIES = "/api/v1/reservation-series/"
LOANS = "/api/v1/loans/"


def token(user, scopes=("read", "write")) -> dict:
    _token, raw = create_token(actor=user, organisation=user.organisation, name="Outil",
                               scopes=list(scopes))
    return {"HTTP_AUTHORIZATION": f"Token {raw}"}


def post(client, url, data, headers):
    return client.post(url, data, content_type="application/json", **headers)


def span(start_hour, end_hour, weeks=0):
    return {"start": next_thursday(start_hour, weeks=weeks).isoformat(),
            "end": next_thursday(end_hour, weeks=weeks).isoformat()}


@pytest.fixture
def private_room(make_resource, service):
    """A room of the accueil service that only its agents may book."""
    return make_resource("Salle de réunion 2e étage", capacity=8, rights=[(service, "")])


@pytest.fixture
def planning_room(make_resource, other_service, service):
    """A room owned by Urbanisme that only the accueil service may book."""
    return make_resource("Salle des plans", capacity=12, owner=other_service,
                         rights=[(service, "")])


# --- Resources -------------------------------------------------------------------------------


def test_an_agent_lists_the_resources_they_see(client, colleague, room, laptop, private_room,
                                               planner):
    response = client.get(RESOURCES, **token(colleague, ["booking:read"]))
    assert response.status_code == 200, response.json()
    names = [r["name"] for r in response.json()["results"]]
    assert set(names) == {"Salle du conseil", "Salle de réunion 2e étage", "Portable PC-12"}
    rooms = client.get(RESOURCES, {"kind": "room"}, **token(colleague)).json()["results"]
    assert {r["kind"] for r in rooms} == {"room"}
    council = next(r for r in rooms if r["name"] == "Salle du conseil")
    assert council["accessible"] is True and council["abilities"]["book"] is True
    read_only = client.get(f"{RESOURCES}{room.pk}/", **token(colleague, ["booking:read"]))
    assert read_only.json()["abilities"]["book"] is False  # the token cannot write
    # Another service's agent does not see the accueil's private room.
    theirs = client.get(RESOURCES, **token(planner)).json()["results"]
    assert "Salle de réunion 2e étage" not in {r["name"] for r in theirs}
    assert client.get(f"{RESOURCES}{private_room.pk}/", **token(planner)).status_code == 404


def test_free_resources_over_a_range(client, agent, colleague, room, private_room):
    reservation = services.reserve(actor=agent, resource=room, start=next_thursday(14),
                                   end=next_thursday(16))
    response = client.get(f"{RESOURCES}free/", {**span(15, 17), "min_capacity": 5},
                          **token(colleague))
    assert response.status_code == 200, response.json()
    assert [r["name"] for r in response.json()["results"]] == ["Salle de réunion 2e étage"]
    after = client.get(f"{RESOURCES}free/", {**span(16, 17), "kind": "room"},
                       **token(colleague)).json()["results"]
    assert {r["name"] for r in after} == {"Salle du conseil", "Salle de réunion 2e étage"}
    assert reservation.pk


@pytest.mark.parametrize(("params", "field"), [
    ({}, "start"),
    (span(16, 14), "end"),
    ({**span(14, 16), "kind": "bateau"}, "kind"),
    ({**span(14, 16), "min_capacity": 0}, "min_capacity"),
])
def test_bad_free_searches_answer_400_with_the_field(client, agent, params, field):
    response = client.get(f"{RESOURCES}free/", params, **token(agent))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and field in response.json()["errors"]


# --- Reservations ----------------------------------------------------------------------------


def test_an_agent_reserves_and_finds_it_in_their_reservations(client, colleague, room):
    response = post(client, RESERVATIONS, {"resource": str(room.pk), "title": "Commission",
                                           **span(14, 16)}, token(colleague))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "confirmed" and body["booker"]["name"] == "Paul Collègue"
    assert body["start"].endswith(("+01:00", "+02:00"))
    assert AuditEvent.objects.filter(action="booking.reserved", actor=colleague).exists()
    mine = client.get(RESERVATIONS, **token(colleague)).json()["results"]
    assert [r["id"] for r in mine] == [body["id"]]
    assert mine[0]["abilities"]["cancel"] is True


def test_a_naive_time_is_the_collectivites_local_time(client, colleague, room):
    day = next_thursday(0).date().isoformat()
    response = post(client, RESERVATIONS, {"resource": str(room.pk),
                                           "start": f"{day}T14:00", "end": f"{day}T15:00"},
                    token(colleague))
    assert response.status_code == 201, response.json()
    assert Reservation.objects.get().start == next_thursday(14)


def test_a_taken_slot_answers_409_with_the_clash(client, agent, colleague, planner, room):
    first = services.reserve(actor=agent, resource=room, start=next_thursday(14),
                             end=next_thursday(16), title="Commission")
    response = post(client, RESERVATIONS, {"resource": str(room.pk), **span(15, 17)},
                    token(colleague))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict" and "déjà réservée" in body["detail"]
    assert body["clash"]["start"].startswith(next_thursday(14).date().isoformat())
    assert body["clash"]["reservation"] == str(first.pk)  # same service: they see it
    other = post(client, RESERVATIONS, {"resource": str(room.pk), **span(15, 17)},
                 token(planner)).json()
    assert other["code"] == "conflict" and other["clash"]["reservation"] is None
    assert Reservation.objects.count() == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"resource": "pas-un-id"}, "resource"),
    ({"resource": "00000000-0000-0000-0000-000000000000"}, "resource"),
    ({"start": "jeudi"}, "start"),
    ({"end": None}, "end"),
    ({"title": "x" * 201}, "title"),
])
def test_bad_reservations_answer_400_with_the_field(client, colleague, room, change, field):
    response = post(client, RESERVATIONS, {"resource": str(room.pk), **span(14, 16),
                                           **change}, token(colleague))
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]


def test_the_rules_of_the_resource_answer_400_on_their_field(client, colleague,
                                                             make_resource):
    van = make_resource("Kangoo électrique", kind="vehicle",
                        max_duration=datetime.timedelta(hours=4))
    long = post(client, RESERVATIONS, {"resource": str(van.pk), **span(8, 18)},
                token(colleague))
    assert long.status_code == 400 and "au plus 4 h" in long.json()["errors"]["end"][0]
    past = post(client, RESERVATIONS, {"resource": str(van.pk),
                                       "start": "2020-01-02T10:00", "end": "2020-01-02T11:00"},
                token(colleague))
    assert past.status_code == 400 and "start" in past.json()["errors"]


def test_a_resource_needing_approval_is_requested(client, colleague, make_resource):
    van = make_resource("Kangoo électrique", kind="vehicle", requires_approval=True)
    response = post(client, RESERVATIONS, {"resource": str(van.pk), **span(9, 11)},
                    token(colleague))
    assert response.status_code == 201 and response.json()["state"] == "requested"


def test_another_service_sees_but_may_not_book_403(client, planner, planning_room):
    response = post(client, RESERVATIONS, {"resource": str(planning_room.pk), **span(9, 10)},
                    token(planner))
    assert response.status_code == 403
    assert not Reservation.objects.exists()


def test_another_agent_can_neither_read_nor_cancel_my_reservation(client, colleague, planner,
                                                                  room):
    mine = services.reserve(actor=colleague, resource=room, start=next_thursday(14),
                            end=next_thursday(16))
    headers = token(planner)
    assert client.get(RESERVATIONS, {"scope": "visible"}, **headers).json()["results"] == []
    assert client.get(f"{RESERVATIONS}{mine.pk}/", **headers).status_code == 404
    assert post(client, f"{RESERVATIONS}{mine.pk}/cancel/", {}, headers).status_code == 404
    mine.refresh_from_db()
    assert mine.state == Reservation.State.CONFIRMED


def test_the_owning_services_manager_sees_and_cancels_with_a_reason(client, colleague,
                                                                    manager, room):
    mine = services.reserve(actor=colleague, resource=room, start=next_thursday(14),
                            end=next_thursday(16))
    headers = token(manager)
    assert client.get(RESERVATIONS, **headers).json()["results"] == []  # not theirs
    visible = client.get(RESERVATIONS, {"scope": "visible"}, **headers).json()["results"]
    assert [r["id"] for r in visible] == [str(mine.pk)]
    response = post(client, f"{RESERVATIONS}{mine.pk}/cancel/", {"reason": "Travaux"},
                    headers)
    assert response.status_code == 200 and response.json()[0]["state"] == "cancelled"
    again = post(client, f"{RESERVATIONS}{mine.pk}/cancel/", {}, headers)
    assert again.status_code == 400


@pytest.mark.parametrize(("params", "field"), [
    ({"scope": "tout"}, "scope"), ({"state": "perdue"}, "state"), ({"from": "hier"}, "from")])
def test_bad_reservation_filters_answer_400(client, colleague, params, field):
    response = client.get(RESERVATIONS, params, **token(colleague))
    assert response.status_code == 400 and field in response.json()["errors"]


def test_another_collectivite_and_residents_get_nothing(client, colleague, room, resident,
                                                       foreign_agent):
    mine = services.reserve(actor=colleague, resource=room, start=next_thursday(14),
                            end=next_thursday(16))
    assert client.get(RESOURCES, **token(resident)).status_code == 403
    assert client.get(RESOURCES, **token(foreign_agent)).status_code == 401  # our address
    elsewhere = token(foreign_agent)
    assert client.get(f"{RESERVATIONS}{mine.pk}/", HTTP_HOST="autre.localhost",
                      **elsewhere).status_code == 404
    assert client.get(RESOURCES, HTTP_HOST="autre.localhost",
                      **elsewhere).json()["results"] == []
    refused = post(client, RESERVATIONS, {"resource": str(room.pk), **span(9, 10)},
                   {"HTTP_HOST": "autre.localhost", **elsewhere})
    assert refused.status_code == 400 and "resource" in refused.json()["errors"]


# --- Series ----------------------------------------------------------------------------------


def test_a_weekly_series_books_the_free_weeks_and_reports_the_clash(client, agent, colleague,
                                                                     room):
    services.reserve(actor=agent, resource=room, start=next_thursday(14, weeks=2),
                     end=next_thursday(15, weeks=2))
    response = post(client, SERIES, {"resource": str(room.pk), "title": "Réunion d'équipe",
                                     "rrule": "FREQ=WEEKLY;COUNT=4", **span(14, 16)},
                    token(colleague))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] and body["rrule"] == "FREQ=WEEKLY;COUNT=4"
    assert len(body["reservations"]) == 3 and len(body["conflicts"]) == 1
    assert body["conflicts"][0]["start"].startswith(
        next_thursday(14, weeks=2).date().isoformat())
    assert "déjà réservée" in body["conflicts"][0]["reason"]


def test_a_series_with_every_occurrence_taken_answers_409(client, agent, colleague, room):
    for week in range(2):
        services.reserve(actor=agent, resource=room, start=next_thursday(14, weeks=week),
                         end=next_thursday(16, weeks=week))
    response = post(client, SERIES, {"resource": str(room.pk), "rrule": "FREQ=WEEKLY;COUNT=2",
                                     **span(14, 16)}, token(colleague))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict" and body["id"] is None and len(body["conflicts"]) == 2


@pytest.mark.parametrize("rule", ["FREQ=WEEKLY", "FREQ=SOUVENT;COUNT=2", ""])
def test_a_bad_rule_answers_400_on_rrule(client, colleague, room, rule):
    response = post(client, SERIES, {"resource": str(room.pk), "rrule": rule, **span(14, 16)},
                    token(colleague))
    assert response.status_code == 400 and "rrule" in response.json()["errors"]
    assert not Reservation.objects.exists()


# --- Loans -----------------------------------------------------------------------------------


def test_an_agent_reads_their_loans_and_not_those_of_others(client, manager, colleague,
                                                            planner, laptop):
    from django.utils import timezone

    services.check_out(actor=manager, resource=laptop, borrower=colleague,
                       due_on=timezone.localdate() + datetime.timedelta(days=7))
    mine = client.get(LOANS, **token(colleague)).json()["results"]
    assert [loan["resource"]["name"] for loan in mine] == ["Portable PC-12"]
    assert mine[0]["overdue"] is False and mine[0]["borrower"]["name"] == "Paul Collègue"
    assert client.get(LOANS, {"scope": "visible"}, **token(planner)).json()["results"] == []
    assert client.get(LOANS, {"scope": "visible"},
                      **token(manager)).json()["results"][0]["id"] == mine[0]["id"]
    assert client.get(f"{LOANS}{mine[0]['id']}/", **token(planner)).status_code == 404


def test_the_schema_documents_the_booking_endpoints(client, organisation):
    schema = client.get("/api/v1/schema/",
                        HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    assert {"/api/v1/resources/", "/api/v1/resources/free/", "/api/v1/reservations/",
            "/api/v1/reservations/{id}/cancel/", "/api/v1/reservation-series/",
            "/api/v1/loans/"} <= set(paths)
    assert paths["/api/v1/reservations/"]["post"]["x-required-scope"] == "booking:write"
    assert "409" in paths["/api/v1/reservations/"]["post"]["responses"]
