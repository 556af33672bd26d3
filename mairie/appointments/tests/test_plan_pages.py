"""The plan's administration (decision 0486): counters, hours, exceptions, types,
availabilities and absences written through the services (validated, audited, the slots
regenerated after the commit), forms that keep what was typed, no silent overwrite
(decision 0487) — and nobody but administrators and directors."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from mairie.appointments.models import (
    AgentAbsence,
    AgentAvailability,
    AppointmentType,
    Closure,
    Counter,
    OpeningHours,
    Slot,
)
from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Role

from .desk_helpers import build_desk, today
from .plan import make_counter

pytestmark = pytest.mark.django_db

HOURS = {f"d{day}_0_start": "09:00" for day in range(5)} | \
    {f"d{day}_0_end": "12:00" for day in range(5)}


@pytest.fixture
def desk(organisation, agent):
    return build_desk(organisation, agent)


def version(obj) -> str:
    obj.refresh_from_db()
    return obj.updated_at.isoformat()


def test_creating_a_counter(client, administrator):
    client.force_login(administrator)
    url = reverse("appointments:plan-counter-new")
    assert client.get(url).status_code == 200
    response = client.post(url, {"name": "France Services", "address": "2 rue Haute",
                                 "time_zone": "Europe/Paris", "holiday_subdivision": "57",
                                 "is_active": "on"})
    counter = Counter.objects.get(name="France Services")
    assert response.url == reverse("appointments:plan-counter", args=[counter.pk])
    assert counter.holiday_subdivision == "57"
    assert AuditEvent.objects.filter(action="appointments.counter_created",
                                     object_id=str(counter.pk)).exists()
    assert client.get(response.url).status_code == 200


def test_counter_errors_are_shown_with_the_input_kept(client, administrator):
    client.force_login(administrator)
    response = client.post(reverse("appointments:plan-counter-new"),
                           {"name": "Annexe du Bourg", "time_zone": "Mars/Olympus",
                            "holiday_subdivision": "ZZ"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Le formulaire contient des erreurs" in page and 'value="Annexe du Bourg"' in page
    response = client.post(reverse("appointments:plan-counter-new"),
                           {"name": "Annexe du Bourg", "time_zone": "",
                            "holiday_subdivision": "ZZ"})
    assert response.status_code == 200
    assert "Cette subdivision n&#x27;existe pas" in response.content.decode()
    assert not Counter.objects.exists()


def test_a_stale_counter_form_writes_nothing(client, administrator, desk):
    counter, _passport = desk
    client.force_login(administrator)
    url = reverse("appointments:plan-counter-edit", args=[counter.pk])
    seen = version(counter)
    Counter.objects.filter(pk=counter.pk).update(address="Changée ailleurs",
                                                 updated_at=datetime.datetime.now(
                                                     datetime.UTC))
    data = {"name": "Accueil principal", "address": "", "time_zone": "",
            "holiday_subdivision": "", "is_active": "on", "version": seen}
    response = client.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "rien n&#x27;a été enregistré" in page and 'value="Accueil principal"' in page
    counter.refresh_from_db()
    assert (counter.name, counter.address) == ("Accueil de la mairie", "Changée ailleurs")
    response = client.post(url, {**data, "version": version(counter)})
    assert response.status_code == 302
    counter.refresh_from_db()
    assert counter.name == "Accueil principal"


def test_hours_are_replaced_and_the_slots_follow(client, administrator, desk,
                                                 django_capture_on_commit_callbacks):
    counter, passport = desk
    client.force_login(administrator)
    url = reverse("appointments:plan-hours", args=[counter.pk])
    page = client.get(url).content.decode()
    assert 'value="14:00"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {**HOURS, "version": version(counter)})
    assert response.status_code == 302
    assert sorted(OpeningHours.objects.filter(counter=counter)
                  .values_list("weekday", flat=True)) == [0, 1, 2, 3, 4]
    monday = today() + datetime.timedelta(days=7 - today().weekday())
    day_slots = Slot.objects.filter(appointment_type=passport,
                                    start__date=monday).order_by("start")
    assert day_slots.count() == 9  # 9–12 only
    assert AuditEvent.objects.filter(action="appointments.hours_changed").exists()


def test_hours_errors_are_explained(client, administrator, desk):
    counter, _passport = desk
    client.force_login(administrator)
    url = reverse("appointments:plan-hours", args=[counter.pk])
    data = {"version": version(counter), "d0_0_start": "09:00", "d0_0_end": "12:00",
            "d0_1_start": "11:00", "d0_1_end": "13:00", "d1_0_start": "17:00",
            "d1_0_end": "08:00", "d2_0_start": "09:00"}
    response = client.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Cette plage chevauche une autre plage du même jour" in page
    assert "L&#x27;heure de fin doit être après celle de début" in page
    assert "Indiquez l&#x27;heure de début et celle de fin" in page
    assert 'value="17:00"' in page
    assert OpeningHours.objects.filter(counter=counter).count() == 14  # unchanged


def test_a_closure_takes_the_day_s_slots_out(client, administrator, desk,
                                             django_capture_on_commit_callbacks):
    counter, passport = desk
    client.force_login(administrator)
    url = reverse("appointments:plan-closure-new", args=[counter.pk])
    day = today() + datetime.timedelta(days=3)
    response = client.post(url, {"kind": "closed", "starts_on": day.isoformat(),
                                 "ends_on": (day - datetime.timedelta(days=1)).isoformat(),
                                 "label": "Pont"})
    assert response.status_code == 200
    assert "La date de fin doit être le jour de début ou après" in response.content.decode()
    response = client.post(url, {"kind": "open", "starts_on": day.isoformat(),
                                 "ends_on": day.isoformat()})
    assert "Une ouverture exceptionnelle a besoin de ses heures" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"kind": "closed", "starts_on": day.isoformat(),
                                     "ends_on": day.isoformat(), "label": "Pont"})
    assert response.status_code == 302
    assert not Slot.objects.filter(appointment_type=passport, start__date=day).exists()
    closure = Closure.objects.get(counter=counter)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("appointments:plan-closure-delete", args=[counter.pk, closure.pk]))
    assert Slot.objects.filter(appointment_type=passport, start__date=day).count() == 18
    assert AuditEvent.objects.filter(action="appointments.closure_deleted").exists()


def test_creating_a_type_generates_its_slots(client, administrator, agent, desk,
                                            django_capture_on_commit_callbacks):
    counter, _passport = desk
    client.force_login(administrator)
    url = reverse("appointments:plan-type-new")
    assert agent.email in client.get(url).content.decode() or str(agent) in \
        client.get(url).content.decode()
    data = {"name": "État civil", "description": "", "duration_minutes": "30",
            "capacity": "1", "counters": [str(counter.pk)], "agents": [str(agent.pk)],
            "min_notice_hours": "2", "max_days_ahead": "14", "max_future_per_person": "1",
            "is_active": "on"}
    response = client.post(url, {**data, "duration_minutes": "2"})
    assert response.status_code == 200 and 'value="État civil"' in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302
    civil = AppointmentType.objects.get(name="État civil")
    assert list(civil.counters.all()) == [counter] and list(civil.agents.all()) == [agent]
    assert Slot.objects.filter(appointment_type=civil).exists()
    edit = reverse("appointments:plan-type-edit", args=[civil.pk])
    stale = {**data, "name": "État civil (actes)", "version": "2000-01-01T00:00:00+00:00"}
    response = client.post(edit, stale)
    assert response.status_code == 200
    assert "rien n&#x27;a été enregistré" in response.content.decode()
    response = client.post(edit, {**stale, "version": version(civil)})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="appointments.type_changed").exists()


def test_availabilities_do_not_overlap_across_counters(client, administrator, agent, desk,
                                                       organisation):
    counter, _passport = desk
    annex = make_counter(organisation, name="Annexe")
    client.force_login(administrator)
    url = reverse("appointments:plan-availability-new", args=[annex.pk])
    data = {"agent": str(agent.pk), "weekday": "0", "start": "10:00", "end": "11:00"}
    response = client.post(url, data)
    assert response.status_code == 200
    assert "reçoit déjà à « Accueil de la mairie »" in response.content.decode()
    response = client.post(url, {**data, "on_date": today().isoformat()})
    assert "pas les deux" in response.content.decode()
    response = client.post(url, {**data, "start": "12:30", "end": "13:30"})
    assert response.status_code == 302
    assert AgentAvailability.objects.filter(counter=annex).count() == 1


def test_an_absence_takes_the_agent_s_slots_out(client, administrator, agent, desk,
                                                django_capture_on_commit_callbacks):
    _counter, passport = desk
    client.force_login(administrator)
    day = today() + datetime.timedelta(days=4)
    url = reverse("appointments:plan-absences")
    response = client.post(url, {"agent": str(agent.pk), "starts_on": day.isoformat(),
                                 "ends_on": (day - datetime.timedelta(days=2)).isoformat()})
    assert response.status_code == 200
    assert "La fin de l&#x27;absence doit être après son début" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"agent": str(agent.pk), "starts_on": day.isoformat(),
                                     "ends_on": day.isoformat(), "reason": "Formation"})
    assert response.status_code == 302
    assert not Slot.objects.filter(appointment_type=passport, start__date=day).exists()
    assert AgentAbsence.objects.get().reason == "Formation"
    assert "Formation" in client.get(url).content.decode()


def test_only_administrators_and_directors_plan(client, agent, desk, service, other_service,
                                                resident, foreign_agent, organisation):
    counter, passport = desk
    manager = agent_factory(service=service, role=Role.MANAGER, email="chef@valmont.example")
    director = agent_factory(service=other_service, role=Role.DIRECTOR,
                             email="dgs@valmont.example")
    pages = [reverse("appointments:plan"), reverse("appointments:plan-counter-new"),
             reverse("appointments:plan-counter", args=[counter.pk]),
             reverse("appointments:plan-hours", args=[counter.pk]),
             reverse("appointments:plan-type-edit", args=[passport.pk]),
             reverse("appointments:plan-absences")]
    for user in (agent, manager, resident):
        client.force_login(user)
        for url in pages:
            assert client.get(url).status_code == 403, (user, url)
        assert client.post(reverse("appointments:plan-hours", args=[counter.pk]),
                           {**HOURS, "version": version(counter)}).status_code == 403
    client.force_login(director)
    for url in pages:
        assert client.get(url).status_code == 200, url
    client.force_login(foreign_agent)  # an administrator, of another collectivité
    for url in pages[2:5]:
        assert client.get(url, HTTP_HOST="autre.localhost").status_code == 404, url
    assert client.post(reverse("appointments:plan-hours", args=[counter.pk]),
                       {**HOURS, "version": version(counter)},
                       HTTP_HOST="autre.localhost").status_code == 404
    assert OpeningHours.objects.filter(counter=counter).count() == 14


def test_closing_a_counter_to_appointments_regenerates_its_slots(
        client, administrator, desk, django_capture_on_commit_callbacks):
    counter, passport = desk
    client.force_login(administrator)
    later = today() + datetime.timedelta(days=2)
    assert Slot.objects.filter(counter=counter, start__date=later).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("appointments:plan-counter-edit", args=[counter.pk]),
                               {"name": counter.name, "address": "", "time_zone": "",
                                "holiday_subdivision": "", "version": version(counter)})
    assert response.status_code == 302
    assert not Slot.objects.filter(counter=counter, start__date=later).exists()
    assert not any(slot.is_free for slot in Slot.objects.filter(counter=counter,
                                                                start__gt=timezone.now()))
    event = AuditEvent.objects.get(action="appointments.counter_changed")
    assert event.details["fields"] == ["is_active"]


def test_the_plan_pages_in_bounded_queries(client, administrator, desk, organisation,
                                           django_assert_max_num_queries):
    counter, _passport = desk
    client.force_login(administrator)
    pages = [reverse("appointments:plan"), reverse("appointments:plan-counter",
                                                   args=[counter.pk])]
    for url in pages:
        client.get(url)
    with django_assert_max_num_queries(20) as few:
        for url in pages:
            client.get(url)
    for number in range(5):
        make_counter(organisation, name=f"Annexe {number}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        for url in pages:
            client.get(url)
