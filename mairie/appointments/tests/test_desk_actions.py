"""The desk's actions (decision 0485): check-in, no-show and undo, blocking a slot, booking
for a resident on the phone, cancelling, linking a dossier — each audited, none silently
overwriting another agent's (decision 0487), none open to another service, another
organisation or a resident."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from mairie.appointments.models import Appointment, Slot
from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Role
from mairie.procedures.tests.agent_helpers import file_dossier
from mairie.procedures.tests.automation_helpers import make_civil_procedure

from .desk_helpers import build_desk, seat, slot_at, today

pytestmark = pytest.mark.django_db

PERSON = {"name": "Léa Dubois", "email": "lea.dubois@example.org", "phone": "06 98 76 54 32",
          "channel": "phone"}


@pytest.fixture
def desk(organisation, agent):
    return build_desk(organisation, agent)


@pytest.fixture
def stranger(other_service):
    return agent_factory(service=other_service, email="urba@valmont.example")


def next_week(passport, hour=10):
    return slot_at(passport, today() + datetime.timedelta(days=7), hour)


def attend(client, appointment, presence, seen=""):
    return client.post(reverse("appointments:desk-attendance", args=[appointment.pk]),
                       {"presence": presence, "vue": seen,
                        "retour": reverse("appointments:desk-day")})


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_check_in_notes_who_and_when_and_is_audited(client, agent, desk):
    _counter, passport = desk
    appointment = seat(slot_at(passport, today(), 16, 40))
    client.force_login(agent)
    response = attend(client, appointment, "arrived")
    assert response.status_code == 302 and response.url == reverse("appointments:desk-day")
    appointment.refresh_from_db()
    assert appointment.attendance == "arrived" and appointment.attendance_by == agent
    assert appointment.attendance_at is not None
    assert AuditEvent.objects.filter(action="appointments.checked_in",
                                     object_id=str(appointment.pk), actor=agent).exists()
    page = client.get(reverse("appointments:desk-day")).content.decode()
    assert "<strong>Arrivé</strong>" in page and "Annuler la présence notée" in page


def test_a_second_agent_does_not_overwrite_the_first(client, agent, desk, service):
    _counter, passport = desk
    appointment = seat(slot_at(passport, today() - datetime.timedelta(days=1), 9))
    colleague = agent_factory(service=service, email="collegue@valmont.example",
                              first_name="Paul", last_name="Colin")
    client.force_login(colleague)
    attend(client, appointment, "no_show")
    client.force_login(agent)
    response = attend(client, appointment, "arrived", seen="")  # the page they had read
    assert any("Entre-temps, Paul Colin a noté « Absent »" in m for m in said(response))
    appointment.refresh_from_db()
    assert (appointment.attendance, appointment.attendance_by) == ("no_show", colleague)


def test_no_show_only_once_started_and_check_in_only_from_the_day(client, agent, desk):
    _counter, passport = desk
    coming = seat(next_week(passport))
    client.force_login(agent)
    response = attend(client, coming, "no_show")
    assert any("une fois l'heure du rendez-vous passée" in m for m in said(response))
    response = attend(client, coming, "arrived")
    assert any("le jour du rendez-vous" in m for m in said(response))
    coming.refresh_from_db()
    assert coming.attendance == ""
    past = seat(slot_at(passport, today() - datetime.timedelta(days=1), 9))
    attend(client, past, "no_show")
    past.refresh_from_db()
    assert past.attendance == "no_show"
    assert AuditEvent.objects.filter(action="appointments.no_show").count() == 1


def test_undo_puts_it_back_to_expected(client, agent, desk):
    _counter, passport = desk
    appointment = seat(slot_at(passport, today(), 16, 40))
    client.force_login(agent)
    attend(client, appointment, "arrived")
    attend(client, appointment, "", seen="arrived")
    appointment.refresh_from_db()
    assert (appointment.attendance, appointment.attendance_at, appointment.attendance_by) == \
        ("", None, None)
    assert AuditEvent.objects.filter(action="appointments.attendance_undone").exists()


def test_bad_attendance_input_changes_nothing(client, agent, desk):
    _counter, passport = desk
    appointment = seat(slot_at(passport, today(), 16, 40))
    client.force_login(agent)
    response = attend(client, appointment, "teleported")
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.attendance == ""
    back = client.post(reverse("appointments:desk-attendance", args=[appointment.pk]),
                       {"presence": "arrived", "vue": "", "retour": "https://evil.example/"})
    assert back.url == reverse("appointments:desk-appointment", args=[appointment.pk])


def test_block_and_unblock_a_slot(client, agent, desk):
    _counter, passport = desk
    slot = next_week(passport)
    client.force_login(agent)
    url = reverse("appointments:desk-block", args=[slot.pk])
    client.post(url, {"bloquer": "1"})
    slot.refresh_from_db()
    assert slot.blocked
    client.post(url, {"bloquer": "0"})
    slot.refresh_from_db()
    assert not slot.blocked
    assert [e.action for e in AuditEvent.objects.filter(object_id=str(slot.pk))
            .order_by("created_at")] == ["appointments.slot_blocked",
                                         "appointments.slot_unblocked"]


def test_a_colleague_who_is_not_the_slot_s_agent_nor_a_manager_cannot_block(
        client, desk, service):
    _counter, passport = desk
    slot = next_week(passport)
    colleague = agent_factory(service=service, email="collegue@valmont.example")
    client.force_login(colleague)
    assert client.post(reverse("appointments:desk-block", args=[slot.pk]),
                       {"bloquer": "1"}).status_code == 403
    slot.refresh_from_db()
    assert not slot.blocked


def test_booking_for_a_resident_on_the_phone(client, agent, desk):
    _counter, passport = desk
    slot = next_week(passport)
    client.force_login(agent)
    url = reverse("appointments:desk-book", args=[slot.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, PERSON)
    appointment = Appointment.objects.get(slot=slot)
    assert response.url == reverse("appointments:desk-appointment", args=[appointment.pk])
    assert (appointment.channel, appointment.booked_by, appointment.name) == \
        ("phone", agent, "Léa Dubois")
    assert AuditEvent.objects.filter(action="appointments.booked", actor=agent,
                                     object_id=str(appointment.pk)).exists()


def test_booking_errors_keep_what_was_typed(client, agent, desk):
    _counter, passport = desk
    slot = next_week(passport)
    client.force_login(agent)
    response = client.post(reverse("appointments:desk-book", args=[slot.pk]),
                           {**PERSON, "name": "", "phone": "12"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Le formulaire contient des erreurs" in page
    assert 'value="lea.dubois@example.org"' in page
    response = client.post(reverse("appointments:desk-book", args=[slot.pk]),
                           {**PERSON, "phone": "12"})
    assert response.status_code == 200
    assert "numéro de téléphone n&#x27;est pas valide" in response.content.decode()
    assert not Appointment.objects.filter(slot=slot).exists()


def test_a_slot_just_taken_comes_back_with_the_next_ones_and_the_input(client, agent, desk):
    _counter, passport = desk
    slot = next_week(passport)
    seat(slot, name="Plus rapide", email="rapide@example.org", phone="0611111111")
    client.force_login(agent)
    response = client.post(reverse("appointments:desk-book", args=[slot.pk]), PERSON)
    assert response.status_code == 200
    page = response.content.decode()
    assert "vient d&#x27;être pris" in page and 'value="Léa Dubois"' in page
    assert "Prochains créneaux libres" in page and "formaction=" in page
    following = next_week(passport, 11)
    response = client.post(reverse("appointments:desk-book", args=[following.pk]), PERSON)
    assert Appointment.objects.get(slot=following).name == "Léa Dubois"


def test_cancelling_for_a_resident_frees_the_slot(client, agent, desk):
    _counter, passport = desk
    slot = next_week(passport)
    appointment = seat(slot)
    client.force_login(agent)
    client.post(reverse("appointments:desk-cancel", args=[appointment.pk]))
    appointment.refresh_from_db()
    slot.refresh_from_db()
    assert appointment.status == "cancelled" and slot.booked == 0
    assert AuditEvent.objects.filter(action="appointments.cancelled", actor=agent).exists()


@pytest.fixture
def dossier(organisation, service, administrator, resident):
    procedure = make_civil_procedure(organisation, service, actor=administrator)
    return file_dossier(procedure, resident, number="2026-000123")


def test_linking_a_dossier_shows_it_both_on_the_appointment_and_in_the_day(
        client, administrator, desk, dossier):
    _counter, passport = desk
    appointment = seat(slot_at(passport, today(), 16, 40))
    client.force_login(administrator)
    url = reverse("appointments:desk-link-dossier", args=[appointment.pk])
    response = client.post(url, {"number": "2026-000123", "current": ""})
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.dossier == dossier
    assert AuditEvent.objects.filter(action="appointments.dossier_linked").exists()
    detail = client.get(reverse("appointments:desk-appointment", args=[appointment.pk]))
    assert reverse("procedures:agent-dossier", args=[dossier.pk]) in detail.content.decode()
    assert "2026-000123" in client.get(reverse("appointments:desk-day")).content.decode()
    # Someone who read the page before the link does not silently replace it.
    response = client.post(url, {"number": "", "current": ""})
    assert response.status_code == 200
    assert "un autre agent a changé le dossier" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.dossier == dossier
    client.post(url, {"number": "", "current": str(dossier.pk)})
    appointment.refresh_from_db()
    assert appointment.dossier is None


def test_an_unknown_or_unreadable_dossier_is_refused_with_the_input_kept(
        client, desk, dossier, other_service, other_organisation, foreign_agent):
    _counter, passport = desk
    appointment = seat(slot_at(passport, today(), 16, 40))
    mediator = agent_factory(service=other_service, role=Role.MEDIATOR,
                             email="fs@valmont.example")
    client.force_login(mediator)  # works every desk, but does not process civil status
    url = reverse("appointments:desk-link-dossier", args=[appointment.pk])
    for number in ("2026-999999", "2026-000123"):
        response = client.post(url, {"number": number, "current": ""})
        assert response.status_code == 200
        page = response.content.decode()
        assert "Aucun dossier de ce numéro" in page and f'value="{number}"' in page
    appointment.refresh_from_db()
    assert appointment.dossier is None


def test_nobody_outside_the_desk_can_act(client, desk, stranger, resident, foreign_agent):
    _counter, passport = desk
    today_appointment = seat(slot_at(passport, today(), 16, 40))
    slot = next_week(passport)
    actions = [
        (reverse("appointments:desk-attendance", args=[today_appointment.pk]),
         {"presence": "arrived", "vue": ""}),
        (reverse("appointments:desk-cancel", args=[today_appointment.pk]), {}),
        (reverse("appointments:desk-link-dossier", args=[today_appointment.pk]),
         {"number": "", "current": ""}),
        (reverse("appointments:desk-block", args=[slot.pk]), {"bloquer": "1"}),
        (reverse("appointments:desk-book", args=[slot.pk]), PERSON),
    ]
    for user, refused in ((stranger, {404}), (resident, {403}),
                          (foreign_agent, {302, 403, 404})):
        for url, data in actions:
            client.force_login(user)
            assert client.post(url, data).status_code in refused, (user, url)
    client.force_login(foreign_agent)
    for url, data in actions:
        assert client.post(url, data, HTTP_HOST="autre.localhost").status_code == 404
    today_appointment.refresh_from_db()
    slot.refresh_from_db()
    assert today_appointment.attendance == "" and today_appointment.status == "booked"
    assert not slot.blocked and slot.booked == 0
    assert not Slot.objects.filter(blocked=True).exists()
