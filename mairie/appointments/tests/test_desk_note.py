"""The agents' note of an appointment, on its desk page: saved and audited without its text,
never silently overwriting another agent's (decision 0487), bounded in length, closed to
another service, another organisation and residents."""

import datetime

import pytest
from django.urls import reverse

from mairie.appointments.models import Appointment
from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory

from .desk_helpers import build_desk, seat, slot_at, today

pytestmark = pytest.mark.django_db


@pytest.fixture
def appointment(organisation, agent):
    _counter, passport = build_desk(organisation, agent)
    return seat(slot_at(passport, today() + datetime.timedelta(days=2), 10))


@pytest.fixture
def colleague(service):
    return agent_factory(service=service, email="collegue@valmont.example",
                         first_name="Paul", last_name="Colin")


def save_note(client, appointment, note, seen=""):
    return client.post(reverse("appointments:desk-note", args=[appointment.pk]),
                       {"note": note, "vue": seen})


def test_the_desk_page_has_the_note_form(client, agent, appointment):
    client.force_login(agent)
    content = client.get(reverse("appointments:desk-appointment",
                                 args=[appointment.pk])).content.decode()
    assert '<label for="id_note">Note de l&#x27;agent</label>' in content
    assert 'maxlength="2000"' in content and "2 000 caractères au plus" in content
    assert f'action="{reverse("appointments:desk-note", args=[appointment.pk])}"' in content


def test_saving_the_note_shows_it_and_audits_its_length_only(client, agent, appointment):
    client.force_login(agent)
    response = save_note(client, appointment, "  Apporter le livret de famille.\r\nRappeler "
                                              "la veille.  ")
    assert response.status_code == 302
    assert response.url == reverse("appointments:desk-appointment", args=[appointment.pk])
    appointment.refresh_from_db()
    assert appointment.agent_note == "Apporter le livret de famille.\nRappeler la veille."
    event = AuditEvent.objects.get(action="appointments.note_changed",
                                   object_id=str(appointment.pk))
    assert event.actor == agent and event.details == {"length": len(appointment.agent_note)}
    assert "livret" not in str(event.details)
    content = client.get(response.url).content.decode()
    assert "La note de l&#x27;agent est enregistrée." in content
    assert "Apporter le livret de famille.<br>Rappeler la veille." in content
    # The day shows a short note on the appointment's row.
    day = client.get(reverse("appointments:desk-day"),
                     {"date": appointment.starts_at.date().isoformat()}).content.decode()
    assert "note : Apporter le livret de famille." in day
    # Clearing it is a change too.
    save_note(client, appointment, "", seen=appointment.agent_note)
    appointment.refresh_from_db()
    assert appointment.agent_note == ""
    assert AuditEvent.objects.filter(action="appointments.note_changed").count() == 2


def test_a_stale_note_is_not_overwritten_and_the_typed_text_is_kept(
        client, agent, colleague, appointment):
    client.force_login(colleague)
    save_note(client, appointment, "Vient avec un interprète.")
    client.force_login(agent)  # had read the page with no note
    response = save_note(client, appointment, "Rappeler vendredi.", seen="")
    assert response.status_code == 200
    content = response.content.decode()
    assert "un autre agent a changé la note de ce rendez-vous : rien n&#x27;a été " \
           "enregistré" in content
    assert "Vient avec un interprète." in content  # the current note, shown
    assert ">\nRappeler vendredi.</textarea>" in content  # what this agent typed, kept
    assert 'name="vue" value="Vient avec un interprète."' in content
    appointment.refresh_from_db()
    assert appointment.agent_note == "Vient avec un interprète."
    assert AuditEvent.objects.filter(action="appointments.note_changed").count() == 1
    # Saved again from that page (knowing the current note), it replaces it.
    save_note(client, appointment, "Rappeler vendredi.", seen="Vient avec un interprète.")
    appointment.refresh_from_db()
    assert appointment.agent_note == "Rappeler vendredi."


def test_a_too_long_note_gets_a_field_error_and_nothing_is_saved(client, agent, appointment):
    client.force_login(agent)
    response = save_note(client, appointment, "x" * 2001)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Le formulaire contient des erreurs" in content
    assert 'id="id_note_error"' in content
    assert "au plus 2000 caractères (actuellement 2001)" in content
    appointment.refresh_from_db()
    assert appointment.agent_note == ""
    # A browser's line breaks (sent as two characters) count as one, as it counts them.
    assert save_note(client, appointment, "ab\r\n" * 600).status_code == 302  # 1,800 + 600
    appointment.refresh_from_db()
    assert len(appointment.agent_note) == 600 * 3 - 1


def test_nobody_outside_the_desk_writes_the_note(client, appointment, other_service, resident,
                                                 foreign_agent):
    stranger = agent_factory(service=other_service, email="urba@valmont.example")
    for user, refused in ((stranger, 404), (resident, 403)):
        client.force_login(user)
        assert save_note(client, appointment, "Intrus").status_code == refused
    client.force_login(foreign_agent)
    assert client.post(reverse("appointments:desk-note", args=[appointment.pk]),
                       {"note": "Intrus", "vue": ""},
                       HTTP_HOST="autre.localhost").status_code == 404
    appointment.refresh_from_db()
    assert appointment.agent_note == ""
    assert not AuditEvent.objects.filter(action="appointments.note_changed").exists()


def test_a_long_note_is_a_marker_on_the_day(client, agent, appointment):
    Appointment.objects.filter(pk=appointment.pk).update(agent_note="Très long. " * 20)
    client.force_login(agent)
    day = client.get(reverse("appointments:desk-day"),
                     {"date": appointment.starts_at.date().isoformat()}).content.decode()
    assert "Très long." not in day
    assert f'{reverse("appointments:desk-appointment", args=[appointment.pk])}#note' in day
