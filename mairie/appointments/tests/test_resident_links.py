"""The signed management link: what it shows, cancelling and moving through it, the e-mails
with their iCalendar event at each step, a tampered link, someone else's appointment, and
« Mes rendez-vous »."""

import datetime
import re
import zoneinfo

import pytest
from django.core import mail
from django.urls import reverse

from mairie.appointments import services
from mairie.appointments.models import Appointment
from mairie.core.audit.models import AuditEvent
from mairie.core.factories import UserFactory

from .resident_helpers import (
    RESIDENT,
    book,
    calendar_of,
    make_passport,
    manage_path,
    slots_of,
)


@pytest.fixture
def passport(organisation, agent):
    return make_passport(organisation, agent)

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def booked_by_page(client, appointment_type, slot, capture, **person):
    with capture(execute=True):
        done = client.post(reverse("appointments:book", args=[appointment_type.pk, slot.pk]),
                           {**RESIDENT, **person})
    assert done.status_code == 302
    return Appointment.objects.get(slot=slot, status=Appointment.Status.BOOKED)


def test_the_confirmation_email_carries_the_link_and_the_event(
        client, passport, django_capture_on_commit_callbacks):
    first = slots_of(passport)[0]
    appointment = booked_by_page(client, passport, first, django_capture_on_commit_callbacks)
    message = mail.outbox[-1]
    assert "confirmé" in message.subject and passport.name in message.subject
    assert "09:00" in message.subject
    assert "Apportez une photo" in message.body and "09h00" in message.body
    calendar, content_type = calendar_of(message)
    assert "method=REQUEST" in content_type.replace('"', "")
    assert calendar["method"] == "REQUEST"
    event = calendar.walk("VEVENT")[0]
    assert str(event["uid"]) == f"appointment-{appointment.pk}@mairie"
    start = event.decoded("dtstart")
    assert start == first.start and start.tzinfo is not None
    assert event["dtstart"].params["TZID"] == "Europe/Paris"
    assert start.astimezone(PARIS).time() == datetime.time(9)
    assert event.decoded("dtend") - start == datetime.timedelta(minutes=20)
    assert int(event["sequence"]) == 0
    assert "1 place de la Mairie" in str(event["location"])
    assert calendar.walk("VTIMEZONE")  # the zone travels with the event
    assert manage_path(message) in str(event["description"])
    # The link of the e-mail opens the appointment.
    page = client.get(manage_path(message))
    assert page.status_code == 200
    assert "Déplacer le rendez-vous" in page.text and "Camille Martin" in page.text


def test_moving_then_cancelling_by_the_link_updates_the_same_event(
        client, passport, django_capture_on_commit_callbacks):
    first, second, third = slots_of(passport)[:3]
    appointment = booked_by_page(client, passport, first, django_capture_on_commit_callbacks)
    link = manage_path(mail.outbox[-1])
    move_page = client.get(link + "deplacer/")
    assert move_page.status_code == 200
    assert f'value="{second.pk}"' in move_page.text and f'value="{first.pk}"' not in move_page.text
    with django_capture_on_commit_callbacks(execute=True):
        moved = client.post(link + "deplacer/", {"slot": str(third.pk)})
    assert moved.status_code == 302 and moved["Location"] == link
    appointment.refresh_from_db()
    assert appointment.slot == third and appointment.sequence == 1
    assert "déplacé" in client.get(link).text
    message = mail.outbox[-1]
    assert "déplacé" in message.subject
    calendar, _ = calendar_of(message)
    event = calendar.walk("VEVENT")[0]
    assert calendar["method"] == "REQUEST"
    assert str(event["uid"]) == f"appointment-{appointment.pk}@mairie"
    assert int(event["sequence"]) == 1 and event.decoded("dtstart") == third.start
    # The seat of the first slot is free again.
    first.refresh_from_db()
    assert first.booked == 0

    confirm = client.get(link + "annuler/")
    assert "Voulez-vous vraiment annuler" in confirm.text
    assert Appointment.objects.get().status == Appointment.Status.BOOKED  # GET changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = client.post(link + "annuler/")
    assert cancelled.status_code == 302
    page = client.get(link)
    assert "Votre rendez-vous est annulé" in page.text
    assert "Prendre un nouveau rendez-vous" in page.text
    assert "Déplacer le rendez-vous" not in page.text
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED and appointment.sequence == 2
    calendar, content_type = calendar_of(mail.outbox[-1])
    assert calendar["method"] == "CANCEL" and "method=CANCEL" in content_type.replace('"', "")
    event = calendar.walk("VEVENT")[0]
    assert str(event["status"]) == "CANCELLED" and int(event["sequence"]) == 2
    assert str(event["uid"]) == f"appointment-{appointment.pk}@mairie"
    # A second cancellation says it is already done, no error page.
    again = client.post(link + "annuler/")
    assert again.status_code == 200


def test_the_move_page_pages_forward_then_back_to_the_first_slots(
        client, passport, django_capture_on_commit_callbacks):
    slots = slots_of(passport)  # 36: Monday and Tuesday, 9–12 and 14–17
    booked_by_page(client, passport, slots[0], django_capture_on_commit_callbacks)
    move = manage_path(mail.outbox[-1]) + "deplacer/"

    def offered(page):
        return re.findall(r'name="slot" value="([0-9a-f-]{36})"', page.text)

    first = client.get(move)
    assert offered(first) == [str(slot.pk) for slot in slots[1:21]]
    assert "Revenir aux premiers créneaux libres" not in first.text
    later = re.search(r'href="(\?apres=[^"]+)">Créneaux suivants', first.text).group(1)
    second = client.get(move + later)
    assert offered(second) == [str(slot.pk) for slot in slots[21:]]
    assert "Créneaux suivants" not in second.text  # the last ones
    back = re.search(r'href="([^"]*)">Revenir aux premiers créneaux libres', second.text)
    assert offered(client.get(move + back.group(1))) == offered(first)


def test_moving_to_a_slot_taken_in_between_keeps_the_appointment(
        client, passport, django_capture_on_commit_callbacks):
    first, second = slots_of(passport)[:2]
    appointment = booked_by_page(client, passport, first, django_capture_on_commit_callbacks)
    link = manage_path(mail.outbox[-1])
    book(passport, second, name="Autre", email="autre@example.org", phone="0698765432")
    page = client.post(link + "deplacer/", {"slot": str(second.pk)})
    assert page.status_code == 200
    assert "Ce créneau vient d&#x27;être pris" in page.text
    assert "Votre rendez-vous n'a pas changé" in page.text
    appointment.refresh_from_db()
    assert appointment.slot == first


def test_the_calendar_file_downloads(client, passport):
    appointment = book(passport, slots_of(passport)[0])
    token = services.manage_token(appointment)
    response = client.get(reverse("appointments:ics", args=[token]))
    assert response["Content-Type"].startswith("text/calendar")
    import icalendar

    calendar = icalendar.Calendar.from_ical(response.content)
    assert calendar["method"] == "PUBLISH"
    assert calendar.walk("VEVENT")[0].decoded("dtstart") == appointment.slot.start


def test_a_tampered_or_truncated_link_explains_itself_and_is_audited(client, passport):
    appointment = book(passport, slots_of(passport)[0])
    token = services.manage_token(appointment)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    for bad in (tampered, token[:20], "n-importe-quoi"):
        for name in ("manage", "cancel", "move"):
            page = client.get(reverse(f"appointments:{name}", args=[bad]))
            assert page.status_code == 404
            assert "Ce lien n&#x27;est pas valide" in page.text
            assert "Utilisez le lien reçu par courriel" in page.text
    assert client.post(reverse("appointments:cancel", args=[tampered])).status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED
    # Audited, once an hour per address.
    assert AuditEvent.objects.filter(action="appointments.link_refused").count() == 1


def test_another_organisations_link_is_not_valid_here(client, passport, other_organisation):
    appointment = book(passport, slots_of(passport)[0])
    token = services.manage_token(appointment)
    page = client.get(reverse("appointments:manage", args=[token]),
                      HTTP_HOST="autre.localhost")
    assert page.status_code == 404


def test_another_resident_sees_nothing_of_someone_elses_appointment(
        client, passport, organisation, resident):
    hers = book(passport, slots_of(passport)[0])
    neighbour = UserFactory(organisation=organisation, email="voisin@example.org")
    client.force_login(neighbour)
    mine = client.get(reverse("appointments:mine"))
    assert "Aucun rendez-vous à venir" in mine.text and "Camille" not in mine.text
    # Neither the appointment's id nor a link signed for something else opens it.
    for forged in (str(hers.pk), services.manage_token(hers).split(":")[0]):
        assert client.get(reverse("appointments:manage", args=[forged])).status_code == 404
        client.post(reverse("appointments:cancel", args=[forged]))
    hers.refresh_from_db()
    assert hers.status == Appointment.Status.BOOKED


def test_my_appointments_in_bounded_queries(client, organisation, passport, resident,
                                            django_assert_max_num_queries):
    slots = slots_of(passport)
    passport.max_future_per_person = 5
    passport.save()
    for slot in slots[:4]:
        services.book_appointment(appointment_type=passport, slot=slot, account=resident,
                                  actor=resident)
    services.cancel_appointment(appointment=Appointment.objects.filter(account=resident)
                                .first(), actor=resident)
    client.force_login(resident)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("appointments:mine"))
    assert page.status_code == 200
    assert page.text.count("/rendez-vous/gerer/") == 4
    assert "Passés ou annulés" in page.text and "annulé" in page.text


def test_my_appointments_need_an_account(client, organisation):
    page = client.get(reverse("appointments:mine"))
    assert page.status_code == 302 and "/comptes/login/" in page["Location"]
