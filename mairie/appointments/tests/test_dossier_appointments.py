"""The « Rendez-vous » section of the agent's dossier page: the appointments linked to the
dossier (coming, past, cancelled) at the counters whose desk the reader works, each opening
its desk page, in the counter's time zone — and nothing of another service's counter or of
another organisation; a fixed number of queries whatever their number."""

import datetime
import zoneinfo

import pytest
from django.urls import reverse

from mairie.appointments import queries, services
from mairie.appointments.models import Appointment, Slot
from mairie.core.factories import agent_factory
from mairie.procedures.models import OpinionRequest
from mairie.procedures.tests.agent_helpers import file_dossier
from mairie.procedures.tests.automation_helpers import make_civil_procedure

from .desk_helpers import build_desk, seat, slot_at, today
from .plan import make_availability, make_counter, make_type

pytestmark = pytest.mark.django_db

MARTINIQUE = zoneinfo.ZoneInfo("America/Martinique")


@pytest.fixture
def desk(organisation, agent):
    return build_desk(organisation, agent)


@pytest.fixture
def dossier(organisation, service, administrator, resident):
    procedure = make_civil_procedure(organisation, service, actor=administrator)
    return file_dossier(procedure, resident, number="2026-000123")


@pytest.fixture
def urbanist(other_service):
    return agent_factory(service=other_service, email="urba@valmont.example",
                         first_name="Ugo", last_name="Urbain")


@pytest.fixture
def annex(organisation, urbanist):
    """The planning service's own counter, in Martinique time, where only `urbanist`
    receives: the civil-status agents do not work its desk."""
    counter = make_counter(organisation, name="Annexe de l'urbanisme",
                           time_zone="America/Martinique")
    make_availability(urbanist, counter)
    permits = make_type(organisation, counters=[counter], agents=[urbanist],
                        name="Permis de construire")
    services.generate_slots(appointment_type=permits, start=today(),
                            end=today() + datetime.timedelta(days=10))
    return counter, permits


def linked(slot, dossier, **kwargs) -> Appointment:
    appointment = seat(slot, **kwargs)
    Appointment.objects.filter(pk=appointment.pk).update(dossier=dossier)
    return appointment


def page(client, dossier) -> str:
    response = client.get(reverse("procedures:agent-dossier", args=[dossier.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_dossier_page_lists_its_appointments_with_links_to_the_desk(
        client, agent, desk, dossier):
    _counter, passport = desk
    next_week = today() + datetime.timedelta(days=7)
    yesterday = today() - datetime.timedelta(days=1)
    coming = linked(slot_at(passport, next_week, 10, 20), dossier)
    past = linked(slot_at(passport, yesterday, 9), dossier, email="autre@example.org")
    Appointment.objects.filter(pk=past.pk).update(attendance=Appointment.Attendance.ARRIVED)
    cancelled = linked(slot_at(passport, next_week, 11), dossier, email="trois@example.org")
    Appointment.objects.filter(pk=cancelled.pk).update(status=Appointment.Status.CANCELLED)
    seat(slot_at(passport, next_week, 14))  # not linked to the dossier
    client.force_login(agent)
    content = page(client, dossier)
    assert '<h2 id="rendez-vous">Rendez-vous</h2>' in content
    section = content.split('id="rendez-vous"')[1].split("</section>")[0]
    for appointment in (coming, past, cancelled):
        assert reverse("appointments:desk-appointment", args=[appointment.pk]) in section
    assert section.count("<tr>") == 3 + 1  # the header
    # In time order, with the date and time at the counter, the type, the counter, the state.
    assert section.index(f"{yesterday:%d/%m/%Y} 09:00") < section.index(
        f"{next_week:%d/%m/%Y} 10:20") < section.index(f"{next_week:%d/%m/%Y} 11:00")
    assert "Passeport et carte d&#x27;identité" in section and "Accueil de la mairie" in section
    assert "Arrivé" in section and "Attendu" in section and "Annulé" in section
    # The link opens the desk page for this agent.
    assert client.get(reverse("appointments:desk-appointment",
                              args=[coming.pk])).status_code == 200


def test_no_section_without_appointments(client, agent, desk, dossier):
    client.force_login(agent)
    assert 'id="rendez-vous"' not in page(client, dossier)


def test_an_appointment_at_another_service_s_counter_is_not_shown(
        client, agent, desk, dossier, annex, urbanist, organisation, administrator):
    _counter, passport = desk
    annex_counter, permits = annex
    day = today() + datetime.timedelta(days=3)
    ours = linked(slot_at(passport, day, 9), dossier)
    theirs = linked(Slot.objects.get(
        appointment_type=permits,
        start=datetime.datetime.combine(day, datetime.time(10), tzinfo=MARTINIQUE)), dossier,
        email="permis@example.org")
    client.force_login(agent)
    content = page(client, dossier)
    assert reverse("appointments:desk-appointment", args=[ours.pk]) in content
    assert reverse("appointments:desk-appointment", args=[theirs.pk]) not in content
    assert "Annexe de l&#x27;urbanisme" not in content
    # Consulted on the dossier, the planning agent reads it, and sees only their own
    # counter's appointment, at that counter's time (10:00 in Martinique).
    OpinionRequest.objects.create(organisation=organisation, dossier=dossier,
                                  requested_by=administrator,
                                  service=urbanist.memberships.get().service,
                                  question="Un avis ?")
    client.force_login(urbanist)
    content = page(client, dossier)
    assert reverse("appointments:desk-appointment", args=[theirs.pk]) in content
    assert reverse("appointments:desk-appointment", args=[ours.pk]) not in content
    assert f"{day:%d/%m/%Y} 10:00" in content and "Permis de construire" in content
    # The administrator works every desk: both.
    client.force_login(administrator)
    content = page(client, dossier)
    for appointment in (ours, theirs):
        assert reverse("appointments:desk-appointment", args=[appointment.pk]) in content


def test_nothing_for_another_organisation(client, desk, dossier, foreign_agent,
                                          other_organisation, organisation):
    _counter, passport = desk
    linked(slot_at(passport, today() + datetime.timedelta(days=2), 9), dossier)
    client.force_login(foreign_agent)
    assert client.get(reverse("procedures:agent-dossier", args=[dossier.pk]),
                      HTTP_HOST="autre.localhost").status_code == 404
    assert queries.appointments_of_dossier(foreign_agent, other_organisation, dossier) == []
    assert queries.appointments_of_dossier(foreign_agent, organisation, dossier) == []


def test_the_dossier_page_s_queries_do_not_grow_with_its_appointments(
        client, agent, desk, dossier, django_assert_max_num_queries):
    _counter, passport = desk
    day = today() + datetime.timedelta(days=4)
    linked(slot_at(passport, day, 9), dossier)
    client.force_login(agent)
    url = reverse("procedures:agent-dossier", args=[dossier.pk])
    client.get(url)
    with django_assert_max_num_queries(60) as few:
        client.get(url)
    for n, hour in enumerate((10, 11, 14, 15, 16)):
        linked(slot_at(passport, day, hour), dossier, email=f"p{n}@example.org")
    with django_assert_max_num_queries(len(few.captured_queries)):
        content = client.get(url).content.decode()
    assert content.split('id="rendez-vous"')[1].split("</section>")[0].count("<tr>") == 6 + 1
