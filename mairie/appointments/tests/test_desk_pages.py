"""The desk's day and week (decision 0485): what an agent of the counter's service sees,
the filters, bounded queries — and what another service, another organisation or a resident
does not see."""

import datetime

import pytest
from django.urls import reverse

from mairie.appointments import queries
from mairie.appointments.models import Appointment, Slot
from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Role

from .desk_helpers import build_desk, seat, slot_at, today
from .plan import make_availability, make_counter, make_type

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(organisation, agent):
    return build_desk(organisation, agent)


def test_the_day_lists_slots_with_their_appointments(client, agent, desk):
    counter, passport = desk
    appointment = seat(slot_at(passport, today(), 9), channel=Appointment.Channel.PHONE)
    Slot.objects.filter(pk=slot_at(passport, today(), 9, 20).pk).update(blocked=True)
    client.force_login(agent)
    response = client.get(reverse("appointments:desk-day"))
    assert response.status_code == 200
    page = response.content.decode()
    # By default, the people received (and the blocked slot); the free ones are counted.
    assert "Camille Martin" in page and "Par téléphone" in page and "Attendu" in page
    assert "Bloqué" in page and ">Libre" not in page
    assert "16 créneaux encore libres ce jour-là." in page
    assert reverse("appointments:desk-appointment", args=[appointment.pk]) in page
    assert page.count("<tr>") == 2 + 1  # the appointment, the blocked slot, the header
    page = client.get(reverse("appointments:desk-day"), {"afficher": "tout"}).content.decode()
    assert "Camille Martin" in page and "Bloqué" in page and "Libre" in page
    assert page.count("<tr>") == 18 + 1  # a day's slots and the header


def test_the_day_of_another_date_and_agent(client, agent, desk, service, organisation):
    counter, passport = desk
    colleague = agent_factory(service=service, email="collegue@valmont.example")
    make_availability(colleague, counter)
    passport.agents.add(colleague)
    tomorrow = today() + datetime.timedelta(days=1)
    from mairie.appointments import services

    services.generate_slots(appointment_type=passport, start=tomorrow, end=tomorrow)
    seat(slot_at(passport, tomorrow, 10, agent=agent), name="Léa Dubois")
    client.force_login(colleague)
    page = client.get(reverse("appointments:desk-day"),
                      {"date": tomorrow.isoformat(), "agent": str(agent.pk),
                       "afficher": "tout"}).content.decode()
    assert "Léa Dubois" in page
    assert page.count("<tr>") == 18 + 1  # only `agent`'s slots, not the colleague's


def test_bad_filters_fall_back_to_today(client, agent, desk):
    counter, passport = desk
    seat(slot_at(passport, today(), 9))
    client.force_login(agent)
    response = client.get(reverse("appointments:desk-day"),
                          {"date": "31/02/2026", "lieu": "n-importe-quoi"})
    assert response.status_code == 200
    assert "Camille Martin" in response.content.decode()


def test_the_week_counts_free_and_blocked_slots(client, agent, desk):
    counter, passport = desk
    seat(slot_at(passport, today(), 9), name="Léa Dubois")
    client.force_login(agent)
    response = client.get(reverse("appointments:desk-week"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Léa Dubois" in page and "17 créneaux libres" in page


def test_the_day_s_queries_do_not_grow_with_the_appointments(
        client, agent, desk, django_assert_max_num_queries):
    counter, passport = desk
    seat(slot_at(passport, today(), 9))
    client.force_login(agent)
    client.get(reverse("appointments:desk-day"))
    with django_assert_max_num_queries(16) as few:
        client.get(reverse("appointments:desk-day"))
    for hour, minute in [(9, 20), (9, 40), (10, 0), (10, 20), (14, 0), (15, 0)]:
        seat(slot_at(passport, today(), hour, minute), name=f"Personne {hour}{minute}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("appointments:desk-day"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("appointments:desk-week"))


# --- Who sees it -----------------------------------------------------------------------------


def test_another_service_s_agent_sees_no_counter(client, desk, other_service):
    counter, passport = desk
    seat(slot_at(passport, today(), 9))
    stranger = agent_factory(service=other_service, email="urba@valmont.example")
    manager = agent_factory(service=other_service, role=Role.MANAGER,
                            email="chef-urba@valmont.example")
    for user in (stranger, manager):
        client.force_login(user)
        page = client.get(reverse("appointments:desk-day")).content.decode()
        assert "Camille Martin" not in page
        assert "Aucun lieu d'accueil" in page
        page = client.get(reverse("appointments:desk-day"),
                          {"lieu": str(counter.pk)}).content.decode()
        assert "Camille Martin" not in page
        assert client.get(reverse("appointments:desk-export")).status_code == 404


def test_a_colleague_of_the_service_and_a_mediator_see_it(client, desk, service, other_service):
    counter, passport = desk
    seat(slot_at(passport, today(), 9))
    colleague = agent_factory(service=service, email="collegue@valmont.example")
    mediator = agent_factory(service=other_service, role=Role.MEDIATOR,
                             email="france-services@valmont.example")
    for user in (colleague, mediator):
        client.force_login(user)
        assert "Camille Martin" in client.get(reverse("appointments:desk-day")).content.decode()


def test_another_organisation_and_residents_are_refused(client, desk, foreign_agent, resident):
    counter, passport = desk
    appointment = seat(slot_at(passport, today(), 9))
    detail = reverse("appointments:desk-appointment", args=[appointment.pk])
    client.force_login(resident)
    assert client.get(reverse("appointments:desk-day")).status_code == 403
    assert client.get(detail).status_code == 403
    # An agent of another collectivité is not signed in here (its session is refused), and on
    # its own site the appointment does not exist.
    client.force_login(foreign_agent)
    for response in (client.get(reverse("appointments:desk-day")), client.get(detail)):
        assert response.status_code in (302, 403, 404)
        assert "Camille Martin" not in response.content.decode()
    client.force_login(foreign_agent)
    assert client.get(detail, HTTP_HOST="autre.localhost").status_code == 404
    assert "Camille Martin" not in client.get(reverse("appointments:desk-day"),
                                              HTTP_HOST="autre.localhost").content.decode()
    client.logout()
    assert client.get(reverse("appointments:desk-day")).status_code == 302


def test_the_other_organisation_s_counters_are_not_listed(agent, desk, other_organisation,
                                                         foreign_agent):
    theirs = make_counter(other_organisation, name="Mairie d'Ailleurs")
    make_availability(foreign_agent, theirs)
    make_type(other_organisation, counters=[theirs], agents=[foreign_agent])
    counter, _passport = desk
    assert list(queries.desk_counters(agent, agent.organisation)) == [counter]
    assert list(queries.desk_counters(foreign_agent, agent.organisation)) == []
    assert list(queries.desk_counters(foreign_agent, other_organisation)) == [theirs]
