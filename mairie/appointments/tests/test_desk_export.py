"""The day's list for a spreadsheet: UTF-8 with a byte-order mark, the agreed columns,
formula-like cells neutralised, audited; nothing for another service."""

import csv
import io

import pytest
from django.urls import reverse

from mairie.appointments.models import Appointment
from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory

from .desk_helpers import build_desk, seat, slot_at, today

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(organisation, agent):
    return build_desk(organisation, agent)


def test_the_export_holds_the_day_s_appointments(client, agent, desk):
    counter, passport = desk
    seat(slot_at(passport, today(), 14), name="=HYPERLINK(\"x\")", email="b@example.org",
         phone="0611111111")
    arrived = seat(slot_at(passport, today(), 9, 20), name="Hélène Lefèvre",
                   email="helene@example.org", channel=Appointment.Channel.COUNTER)
    Appointment.objects.filter(pk=arrived.pk).update(attendance="arrived")
    client.force_login(agent)
    response = client.get(reverse("appointments:desk-export"),
                          {"date": today().isoformat(), "lieu": str(counter.pk)})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"rendez-vous-{today():%Y-%m-%d}.csv" in response["Content-Disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["heure", "lieu", "agent", "type", "nom", "téléphone", "courriel",
                       "présence", "dossier"]
    assert rows[1] == ["09:20", "Accueil de la mairie", str(agent),
                       "Passeport et carte d'identité", "Hélène Lefèvre", "06 12 34 56 78",
                       "helene@example.org", "Arrivé", ""]
    assert rows[2][0] == "14:00" and rows[2][4] == "'=HYPERLINK(\"x\")"
    assert rows[2][7] == "Attendu"
    assert len(rows) == 3
    event = AuditEvent.objects.get(action="appointments.desk_exported")
    assert event.actor == agent and event.details["rows"] == 2


def test_another_service_cannot_export(client, desk, other_service, resident):
    counter, passport = desk
    seat(slot_at(passport, today(), 9))
    stranger = agent_factory(service=other_service, email="urba@valmont.example")
    client.force_login(stranger)
    assert client.get(reverse("appointments:desk-export"),
                      {"lieu": str(counter.pk)}).status_code == 404
    client.force_login(resident)
    assert client.get(reverse("appointments:desk-export")).status_code == 403
    assert not AuditEvent.objects.filter(action="appointments.desk_exported").exists()
