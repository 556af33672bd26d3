"""The waiting list: joining from the type's page, told by e-mail when a seat frees up (a
cancellation, a move, a slot given back), the entry ending when the person books, leaving
by the signed link."""

import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from mairie.appointments import services, services_resident
from mairie.appointments.models import Slot, WaitingListEntry
from mairie.core.audit.models import AuditEvent

from .plan import make_counter
from .resident_helpers import (
    book,
    make_passport,
    slots_of,
)


@pytest.fixture
def passport(organisation, agent):
    return make_passport(organisation, agent)


@pytest.fixture
def full(passport):
    """Every slot of the type booked, by a different person each."""
    passport.max_future_per_person = 50
    passport.save()
    for n, slot in enumerate(slots_of(passport)):
        book(passport, slot, name=f"Personne {n}", email=f"p{n}@example.org",
             phone=f"06123456{n:02d}")
    mail.outbox.clear()
    return passport


def join(client, appointment_type, **values):
    data = {"attente-name": "Léa Dupont", "attente-email": "lea@example.org",
            "attente-counter": "", "attente-wanted_until": ""}
    data.update({f"attente-{key}": value for key, value in values.items()})
    return client.post(reverse("appointments:waiting-list", args=[appointment_type.pk]), data)


def test_the_type_page_offers_the_waiting_list_when_nothing_is_free(client, full):
    page = client.get(reverse("appointments:free-slots", args=[full.pk]))
    assert "Aucun créneau libre pour le moment" in page.text
    assert "M&#x27;inscrire sur la liste d&#x27;attente" in page.text or \
        "M'inscrire sur la liste d'attente" in page.text
    done = join(client, full)
    assert done.status_code == 302
    assert "vous recevrez un courriel" in client.get(done["Location"]).text
    entry = WaitingListEntry.objects.get()
    assert (entry.name, entry.email_key, entry.ended_at) == ("Léa Dupont", "lea@example.org",
                                                             None)
    assert AuditEvent.objects.filter(action="appointments.waiting_list_joined").exists()
    # Joining again updates the same entry.
    join(client, full, wanted_until=(timezone.localdate() + datetime.timedelta(days=30))
         .isoformat())
    assert WaitingListEntry.objects.filter(ended_at__isnull=True).count() == 1


def test_with_slots_offered_the_type_page_links_to_the_waiting_list_page(client, passport):
    """The page a rush reads carries no form: the list is one link away, and its page has
    the form."""
    page = client.get(reverse("appointments:free-slots", args=[passport.pk]))
    waiting = reverse("appointments:waiting-list", args=[passport.pk])
    assert page.status_code == 200 and 'name="attente-email"' not in page.text
    assert f'href="{waiting}"' in page.text
    first = slots_of(passport)[0]
    assert f'href="{reverse("appointments:book", args=[passport.pk, first.pk])}"' in page.text
    form = client.get(waiting)
    assert form.status_code == 200 and 'name="attente-email"' in form.text


def test_a_wrong_date_is_refused_on_its_field_and_the_input_kept(client, full):
    page = join(client, full, email="pas-une-adresse", wanted_until="2001-01-01")
    assert page.status_code == 200
    assert "Le formulaire contient des erreurs" in page.text
    assert "Cette date est déjà passée" in page.text
    assert 'value="Léa Dupont"' in page.text and 'value="2001-01-01"' in page.text
    assert not WaitingListEntry.objects.exists()


def test_a_cancellation_tells_the_first_entries_once_with_a_link_to_book(
        client, full, settings, django_capture_on_commit_callbacks):
    settings.APPOINTMENTS_WAITING_LIST_PER_SEAT = 2
    for n in range(3):
        services_resident.join_waiting_list(appointment_type=full, name=f"Attente {n}",
                                            email=f"attente{n}@example.org")
    freed = slots_of(full)[4]
    appointment = freed.appointments.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_appointment(appointment=appointment)
    told = [m for m in mail.outbox if m.to[0].startswith("attente")]
    assert sorted(m.to[0] for m in told) == ["attente0@example.org", "attente1@example.org"]
    message = told[0]
    assert "Une place s'est libérée" in message.subject
    book_link = re.search(r"http://testserver(/rendez-vous/[^\s]+/creneau/[^\s]+/)",
                          message.body).group(1)
    assert book_link == reverse("appointments:book", args=[full.pk, freed.pk])
    assert client.get(book_link).status_code == 200
    entries = {e.email: e for e in WaitingListEntry.objects.all()}
    assert entries["attente0@example.org"].notified_count == 1
    assert entries["attente2@example.org"].notified_count == 0
    # The next freed seat goes first to the one not told yet.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_appointment(appointment=slots_of(full)[5].appointments.get())
    told = sorted(m.to[0] for m in mail.outbox if m.to[0].startswith("attente"))
    assert told == ["attente0@example.org", "attente2@example.org"]


def test_booking_ends_the_entry(client, full, django_capture_on_commit_callbacks):
    services_resident.join_waiting_list(appointment_type=full, name="Léa Dupont",
                                        email="lea@example.org")
    freed = slots_of(full)[0]
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_appointment(appointment=freed.appointments.get())
    assert mail.outbox[-1].to == ["lea@example.org"]
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(reverse("appointments:book", args=[full.pk, freed.pk]),
                           {"name": "Léa Dupont", "email": "LEA@example.org",
                            "phone": "0611223344"})
    assert done.status_code == 302
    assert WaitingListEntry.objects.get().ended_at is not None


def test_a_move_and_a_slot_given_back_tell_the_list(full, agent,
                                                    django_capture_on_commit_callbacks):
    services_resident.join_waiting_list(appointment_type=full, name="Léa Dupont",
                                        email="lea@example.org")
    wednesday = timezone.localdate(slots_of(full)[-1].start) + datetime.timedelta(days=1)
    services.generate_slots(appointment_type=full, start=wednesday, end=wednesday)
    free = list(Slot.objects.filter(appointment_type=full, booked=0).order_by("start"))
    new_slot, target = free[0], free[-1]
    services.block_slot(actor=agent, slot=new_slot)
    moving = slots_of(full)[2].appointments.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.move_appointment(appointment=moving, slot=target)
    assert [m.to for m in mail.outbox if "place" in m.subject] == [["lea@example.org"]]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.block_slot(actor=agent, slot=new_slot, blocked=False)
    told = [m for m in mail.outbox if "place" in m.subject]
    assert [m.to for m in told] == [["lea@example.org"]]
    assert reverse("appointments:book", args=[full.pk, new_slot.pk]) in told[0].body


def test_entries_for_another_counter_or_an_earlier_date_are_not_told(
        organisation, full, django_capture_on_commit_callbacks):
    elsewhere = make_counter(organisation, name="Mairie annexe")
    full.counters.add(elsewhere)
    freed = slots_of(full)[0]
    services_resident.join_waiting_list(appointment_type=full, name="Annexe",
                                        email="annexe@example.org", counter=elsewhere)
    services_resident.join_waiting_list(
        appointment_type=full, name="Pressé", email="presse@example.org",
        wanted_until=timezone.localdate(freed.start) - datetime.timedelta(days=1))
    services_resident.join_waiting_list(appointment_type=full, name="Partout",
                                        email="partout@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_appointment(appointment=freed.appointments.get())
    assert [m.to for m in mail.outbox if "place" in m.subject] == [["partout@example.org"]]


def test_leaving_by_the_signed_link(client, full, django_capture_on_commit_callbacks):
    services_resident.join_waiting_list(appointment_type=full, name="Léa Dupont",
                                        email="lea@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_appointment(appointment=slots_of(full)[0].appointments.get())
    link = re.search(r"http://testserver(/rendez-vous/liste-d-attente/desinscription/[^\s]+/)",
                     mail.outbox[-1].body).group(1)
    page = client.get(link)
    assert "Me désinscrire" in page.text
    assert WaitingListEntry.objects.get().ended_at is None
    done = client.post(link)
    assert "vous ne recevrez plus de courriel" in done.text
    assert WaitingListEntry.objects.get().ended_at is not None
    assert AuditEvent.objects.filter(action="appointments.waiting_list_left").exists()
    assert client.get(link[:-6] + "xyz/").status_code == 404
