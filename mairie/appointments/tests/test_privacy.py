"""Personal data of the appointments: the register lists them, « Mes données » holds a
person's appointments (with their account or their address) and waiting-list entries and
nothing of others, an erasure cancels the future ones, anonymises them all and deletes the
waiting list, and closing an account does the same."""

import datetime
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from mairie.appointments import services
from mairie.appointments.models import Appointment, Slot, WaitingListEntry
from mairie.core.accounts.services import delete_account
from mairie.core.privacy import services as privacy
from mairie.core.privacy.registry import activities

from .plan import make_availability, make_counter, make_type, next_weekday

pytestmark = pytest.mark.django_db

STRANGER = {"name": "Voisin Secret", "email": "voisin@example.org", "phone": "06 98 76 54 32"}


@pytest.fixture
def passport(organisation, agent):
    counter = make_counter(organisation, name="Hôtel de ville")
    make_availability(agent, counter)
    appointment_type = make_type(organisation, counters=[counter], agents=[agent],
                                 max_future_per_person=3)
    monday = next_weekday(0)
    services.generate_slots(appointment_type=appointment_type, start=monday, end=monday)
    return appointment_type


@pytest.fixture
def booked(passport, resident, agent):
    """The resident's three appointments: one with their account, one an agent took with
    their address (no account), one past; and a stranger's."""
    slots = list(Slot.objects.filter(appointment_type=passport).order_by("start"))
    own = services.book_appointment(appointment_type=passport, slot=slots[0], account=resident,
                                    actor=resident)
    by_phone = services.book_appointment(appointment_type=passport, slot=slots[1],
                                         name="Paul Habitant", email="Habitant@Example.org",
                                         phone="06 11 22 33 44", actor=agent)
    past = services.book_appointment(appointment_type=passport, slot=slots[2],
                                     account=resident, actor=resident)
    Appointment.objects.filter(pk=past.pk).update(
        starts_at=timezone.now() - datetime.timedelta(days=30), agent_note="Très en retard",
        attendance=Appointment.Attendance.ARRIVED)
    stranger = services.book_appointment(appointment_type=passport, slot=slots[3], **STRANGER)
    WaitingListEntry.objects.create(organisation=passport.organisation,
                                    appointment_type=passport, account=resident,
                                    name="Paul Habitant", email=resident.email,
                                    email_key=resident.email)
    WaitingListEntry.objects.create(organisation=passport.organisation,
                                    appointment_type=passport, name="Voisin Secret",
                                    email=STRANGER["email"], email_key=STRANGER["email"])
    return own, by_phone, past, stranger


def test_the_register_lists_the_appointments_activities(client, administrator):
    keys = {activity.key for activity in activities()}
    assert {"appointments.appointments", "appointments.waiting_list"} <= keys
    client.force_login(administrator)
    page = client.get(reverse("privacy:register")).content.decode()
    assert "Rendez-vous des usagers" in page and "Liste d&#x27;attente des rendez-vous" in page


def test_my_data_holds_my_appointments_and_waiting_list_and_nothing_of_others(
        client, resident, booked):
    client.force_login(resident)
    response = client.get(reverse("privacy:my-data-json"))
    data = json.loads(response.content)
    sections = {section["key"]: section["rows"] for section in data["sections"]}
    rows = sections["appointments.appointments"]
    assert len(rows) == 3  # with the account, and with their address
    assert {row["place"] for row in rows} == {"Hôtel de ville"}
    assert any(row["phone"] == "06 11 22 33 44" for row in rows)
    assert [e["type"] for e in sections["appointments.waiting_list"]] == [
        "Passeport et carte d'identité"]
    assert "Voisin Secret" not in response.content.decode()


def test_an_erasure_cancels_the_future_anonymises_all_and_deletes_the_waiting_list(
        organisation, administrator, resident, booked):
    own, by_phone, past, stranger = booked
    request = privacy.record_request(actor=administrator, organisation=organisation, values={
        "kind": "erasure", "requester_name": "Paul", "requester_email": resident.email})
    done = privacy.erase(actor=administrator, privacy_request=request)
    for appointment in (own, by_phone, past):
        appointment.refresh_from_db()
        assert (appointment.name, appointment.email, appointment.phone,
                appointment.email_key, appointment.phone_key, appointment.account_id,
                appointment.agent_note) == ("Anonymisé", "", "", "", "", None, "")
    assert own.status == by_phone.status == Appointment.Status.CANCELLED
    assert past.status == Appointment.Status.BOOKED  # history: time and attendance stay
    assert past.attendance == Appointment.Attendance.ARRIVED
    assert Slot.objects.get(pk=own.slot_id).is_free  # the seat is offered again
    stranger.refresh_from_db()
    assert stranger.name == "Voisin Secret" and stranger.status == Appointment.Status.BOOKED
    assert list(WaitingListEntry.objects.values_list("name", flat=True)) == ["Voisin Secret"]
    assert any("2 rendez-vous à venir annulés" in line for line in done.erased)
    assert any("3 rendez-vous anonymisés" in line for line in done.erased)
    assert any("liste d'attente" in line for line in done.erased)
    assert any("statistiques" in line for line in done.kept)


def test_closing_an_account_with_appointments_erases_them(resident, booked):
    own, _by_phone, past, _stranger = booked
    delete_account(actor=resident, user=resident)
    own.refresh_from_db()
    past.refresh_from_db()
    assert own.status == Appointment.Status.CANCELLED and own.name == "Anonymisé"
    assert past.email == "" and past.account_id is None
    assert not WaitingListEntry.objects.filter(account=resident).exists()


def test_closing_a_former_agents_account_who_received_appointments(agent, booked):
    """Their slots stay on the tombstone (decision 0100), with the residents' appointments."""
    from mairie.core.organisation.models import Membership

    Membership.objects.filter(user=agent).delete()
    agent.refresh_from_db()
    delete_account(actor=agent, user=agent)
    for appointment in booked:
        appointment.refresh_from_db()
        assert appointment.slot.agent_id == agent.pk
    assert booked[0].status == Appointment.Status.BOOKED


def test_the_pdf_copy_shows_the_appointments_with_french_labels(client, resident, booked):
    import io

    from pypdf import PdfReader

    client.force_login(resident)
    response = client.get(reverse("privacy:my-data-pdf"))
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(
        response.content)).pages)
    assert "Rendez-vous des usagers" in text and "Hôtel de ville" in text
    assert "Présence" in text and "Voisin Secret" not in text


def test_appointments_more_than_a_year_past_are_anonymised_by_the_daily_task(booked):
    from mairie.appointments import tasks

    own, by_phone, past, stranger = booked
    Appointment.objects.filter(pk=past.pk).update(
        starts_at=timezone.now() - datetime.timedelta(days=400))
    assert tasks.apply_retention() == {"anonymised": 1, "deleted": 0}
    past.refresh_from_db()
    own.refresh_from_db()
    assert (past.name, past.email, past.phone, past.account) == ("Anonymisé", "", "", None)
    assert past.attendance == Appointment.Attendance.ARRIVED  # kept for the statistics
    assert own.name != "Anonymisé" and own.email
    assert tasks.apply_retention()["anonymised"] == 0  # idempotent
