"""A resident books a slot from the free slots page: without an account (name, e-mail and
phone), with one (prefilled), the slot taken in between (the next slots are offered, the
input kept), a slot passed or beyond the window, the per-person limit."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from mairie.appointments import services
from mairie.appointments.models import Appointment
from mairie.core.audit.models import AuditEvent

from .resident_helpers import (
    RESIDENT,
    book,
    make_passport,
    slots_of,
)


@pytest.fixture
def passport(organisation, agent):
    return make_passport(organisation, agent)


def book_url(appointment_type, slot):
    return reverse("appointments:book", args=[appointment_type.pk, slot.pk])


def test_the_free_slots_link_to_their_booking_page(client, passport):
    first = slots_of(passport)[0]
    page = client.get(reverse("appointments:free-slots", args=[passport.pk]))
    assert f'href="{book_url(passport, first)}"' in page.text
    form = client.get(book_url(passport, first))
    assert form.status_code == 200
    assert "Réserver un rendez-vous" in form.text and "09h00" in form.text
    assert "1 place de la Mairie" in form.text and "Apportez une photo" in form.text
    assert 'name="phone"' in form.text and 'autocomplete="email"' in form.text


def test_booking_without_an_account_redirects_to_the_confirmation_and_sends_the_email(
        client, passport, django_capture_on_commit_callbacks):
    first = slots_of(passport)[0]
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(book_url(passport, first), RESIDENT)
    appointment = Appointment.objects.get()
    assert done.status_code == 302
    assert done["Location"].startswith("/rendez-vous/confirme/")
    token = done["Location"].split("/")[-2]
    assert services.appointment_for_token(token=token,
                                          organisation=appointment.organisation) == appointment
    page = client.get(done["Location"])
    assert "Votre rendez-vous est réservé" in page.text
    assert f"http://testserver/rendez-vous/gerer/{token}/" in page.text
    assert appointment.account is None and appointment.phone_key == "+33612345678"
    assert [m.to for m in mail.outbox] == [["camille@example.org"]]
    appointment.refresh_from_db()
    assert appointment.confirmation_sent_at is not None


def test_without_an_account_every_field_is_required_and_the_input_is_kept(client, passport):
    page = client.post(book_url(passport, slots_of(passport)[0]),
                       {"name": "Camille Martin", "email": "pas-une-adresse", "phone": ""})
    assert page.status_code == 200
    assert "Le formulaire contient des erreurs" in page.text
    assert 'value="Camille Martin"' in page.text and 'value="pas-une-adresse"' in page.text
    assert 'aria-describedby="id_phone_helptext id_phone_error"' in page.text
    assert not Appointment.objects.exists()


def test_an_invalid_phone_is_refused_on_its_field(client, passport):
    page = client.post(book_url(passport, slots_of(passport)[0]), {**RESIDENT, "phone": "12"})
    assert page.status_code == 200
    assert "numéro de téléphone n&#x27;est pas valide" in page.text
    assert not Appointment.objects.exists()


def test_a_signed_in_resident_books_with_the_account_prefilled(
        client, passport, resident, django_capture_on_commit_callbacks):
    resident.first_name, resident.last_name = "Dominique", "Lefèvre"
    resident.save()
    client.force_login(resident)
    first = slots_of(passport)[0]
    form = client.get(book_url(passport, first))
    assert 'value="Dominique Lefèvre"' in form.text and 'value="habitant@example.org"' in form.text
    assert "Facultatif" in form.text  # no phone needed with an account
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(book_url(passport, first),
                           {"name": "Dominique Lefèvre", "email": "habitant@example.org",
                            "phone": ""})
    assert done.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.account == resident and appointment.booked_by == resident
    assert mail.outbox[-1].to == ["habitant@example.org"]
    mine = client.get(reverse("appointments:mine"))
    assert "Passeport et carte d" in mine.text and "09h00" in mine.text


def test_a_slot_taken_in_between_offers_the_next_ones_and_keeps_the_input(client, passport):
    first, second = slots_of(passport)[:2]
    page = client.get(book_url(passport, first))
    assert page.status_code == 200
    # Someone else is faster, between the page and the click.
    book(passport, first, name="Autre Personne", email="autre@example.org",
         phone="0698765432")
    taken = client.post(book_url(passport, first), RESIDENT)
    assert taken.status_code == 200
    assert "Ce créneau vient d&#x27;être pris" in taken.text
    assert f'href="{book_url(passport, second)}"' in taken.text
    assert Appointment.objects.filter(email="camille@example.org").count() == 0
    # The next slot's page has what she typed.
    following = client.get(book_url(passport, second))
    assert 'value="Camille Martin"' in following.text
    assert 'value="camille@example.org"' in following.text
    assert client.post(book_url(passport, second), RESIDENT).status_code == 302
    assert Appointment.objects.get(email="camille@example.org").slot == second


def test_a_taken_slot_says_so_when_opened(client, passport):
    first, second = slots_of(passport)[:2]
    book(passport, first, name="Autre Personne", email="autre@example.org",
         phone="0698765432")
    page = client.get(book_url(passport, first))
    assert page.status_code == 200
    assert "plus libre" in page.text and book_url(passport, second) in page.text
    assert 'name="email"' not in page.text


def test_a_slot_in_the_past_is_refused_with_a_message(client, organisation, passport):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    services.generate_slots(appointment_type=passport, start=yesterday, end=yesterday)
    past = slots_of(passport)[0]
    assert past.start < timezone.now()
    page = client.post(book_url(passport, past), RESIDENT)
    assert page.status_code == 200
    assert "Ce créneau est déjà passé" in page.text
    assert 'value="camille@example.org"' in page.text
    assert not Appointment.objects.exists()


def test_a_slot_beyond_the_window_is_refused_with_a_message(client, passport):
    far = timezone.localdate() + datetime.timedelta(days=passport.max_days_ahead + 10)
    services.generate_slots(appointment_type=passport, start=far, end=far)
    late = slots_of(passport)[-1]
    page = client.post(book_url(passport, late), RESIDENT)
    assert page.status_code == 200
    assert "pas encore ouvert" in page.text and "60 jours" in page.text
    assert not Appointment.objects.exists()


def test_the_per_person_limit_is_explained(client, passport):
    first, second = slots_of(passport)[:2]
    assert client.post(book_url(passport, first), RESIDENT).status_code == 302
    page = client.post(book_url(passport, second),
                       {**RESIDENT, "email": "CAMILLE@example.org"})
    assert page.status_code == 200
    assert "le maximum pour une même personne" in page.text
    assert Appointment.objects.count() == 1


def test_booking_is_audited_with_the_residents_address(client, passport):
    client.post(book_url(passport, slots_of(passport)[0]), RESIDENT)
    event = AuditEvent.objects.get(action="appointments.booked")
    assert event.ip_address == "127.0.0.1"


def test_the_free_slots_page_and_the_booking_page_in_bounded_queries(
        client, passport, django_assert_max_num_queries):
    first = slots_of(passport)[0]
    with django_assert_max_num_queries(9):
        page = client.get(reverse("appointments:free-slots", args=[passport.pk]))
    assert page.text.count("<time ") == 20
    with django_assert_max_num_queries(8):
        assert client.get(book_url(passport, first)).status_code == 200
