"""Journey (issue 6): a resident without an account, in a browser without JavaScript, books a
passport appointment with the keyboard, receives the confirmation e-mail and its calendar
event, follows the management link, moves the appointment to another slot, then cancels it.
Every page passes axe-core."""

from __future__ import annotations

import datetime
import re

import icalendar
import pytest
from django.core import mail

from mairie.appointments import queries, services
from mairie.appointments.models import Appointment, Slot
from mairie.appointments.tests.plan import (
    make_availability,
    make_counter,
    make_type,
    next_weekday,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EMAIL = "ines.moreau@example.org"


def calendar_of(message) -> icalendar.Calendar:
    for part in message.message().walk():
        if part.get_content_type() == "text/calendar":
            return icalendar.Calendar.from_ical(part.get_payload(decode=True))
    raise AssertionError("no calendar attached")


def press(page, locator, key: str = "Enter") -> None:
    """Reach a control with the keyboard's focus and press a key on it."""
    locator.focus()
    page.keyboard.press(key)


def test_a_resident_books_moves_and_cancels_a_passport_appointment(
        new_page, page_watch, live_server, organisation, agent):
    counter = make_counter(organisation, name="Accueil de la mairie",
                           address="1 place de la Mairie, 12345 Valmont")
    make_availability(agent, counter)
    passport = make_type(organisation, counters=[counter], agents=[agent],
                         description="Apportez une photo d'identité récente.")
    monday = next_weekday(0)
    services.generate_slots(appointment_type=passport, start=monday,
                            end=monday + datetime.timedelta(days=1))
    # What she is offered: the plan's receivers also fill the days from today, so the first
    # slot depends on the hour the test runs at.
    slots = list(queries.free_slots(passport))
    page = new_page(java_script_enabled=False)

    # The offer: from the menu to the type, then its first free slot.
    page.goto("/")
    page_watch.check(page)
    press(page, page.get_by_role("navigation", name="Menu principal")
          .get_by_role("link", name="Rendez-vous"))
    page.wait_for_selector("h1:has-text('Prendre rendez-vous')")
    page_watch.check(page)
    press(page, page.get_by_role("link", name="Passeport et carte d'identité"))
    page.wait_for_selector("h2:has-text('Prochains créneaux libres')")
    page_watch.check(page)
    press(page, page.locator("main ul.slot-list a").first)
    page.wait_for_selector("h1:has-text('Réserver un rendez-vous')")
    page_watch.check(page)

    # A mistake first: the page says what is wrong and keeps what she typed.
    page.get_by_label("Nom et prénom").fill("Inès Moreau")
    page.get_by_label("Adresse électronique").fill(EMAIL)
    press(page, page.get_by_role("button", name="Confirmer le rendez-vous"))
    page.wait_for_selector("text=Le formulaire contient des erreurs")
    page_watch.check(page)
    assert page.get_by_label("Nom et prénom").input_value() == "Inès Moreau"
    page.get_by_label("Téléphone").fill("06 45 67 89 10")
    press(page, page.get_by_role("button", name="Confirmer le rendez-vous"))
    page.wait_for_selector("h1:has-text('Votre rendez-vous est réservé')")
    page_watch.check(page)
    appointment = Appointment.objects.get()
    assert appointment.slot == slots[0] and appointment.email == EMAIL

    # The e-mail: the management link and the event for her calendar.
    confirmation = [m for m in mail.outbox if m.to == [EMAIL]][-1]
    calendar = calendar_of(confirmation)
    event = calendar.walk("VEVENT")[0]
    assert calendar["method"] == "REQUEST"
    assert event.decoded("dtstart") == slots[0].start
    assert str(event["uid"]) == f"appointment-{appointment.pk}@mairie"
    assert int(event["sequence"]) == 0
    assert "1 place de la Mairie" in str(event["location"])
    link = re.search(r"https?://\S+/rendez-vous/gerer/\S+/", confirmation.body).group(0)
    assert link.startswith(live_server.url)

    # She follows the link later, in the same browser, and moves to the 10:00 slot.
    page.goto(link)
    page.wait_for_selector("h1:has-text('Mon rendez-vous')")
    page_watch.check(page)
    press(page, page.get_by_role("link", name="Déplacer le rendez-vous"))
    page.wait_for_selector("h1:has-text('Déplacer le rendez-vous')")
    page_watch.check(page)
    ten = next(slot for slot in slots[1:]
               if slot.start.astimezone(counter.zone).time() == datetime.time(10))
    press(page, page.locator(f"input[type=radio][value='{ten.pk}']"), "Space")
    press(page, page.get_by_role("button", name="Déplacer sur ce créneau"))
    page.wait_for_selector("text=Votre rendez-vous est déplacé")
    page_watch.check(page)
    assert page.get_by_text("10h00").count() >= 1
    appointment.refresh_from_db()
    assert appointment.slot == ten
    moved = [m for m in mail.outbox if m.to == [EMAIL]][-1]
    event = calendar_of(moved).walk("VEVENT")[0]
    assert event.decoded("dtstart") == ten.start and int(event["sequence"]) == 1
    assert str(event["uid"]) == f"appointment-{appointment.pk}@mairie"

    # Then she cancels, after the confirmation step.
    press(page, page.get_by_role("link", name="Annuler le rendez-vous"))
    page.wait_for_selector("text=Voulez-vous vraiment annuler ce rendez-vous ?")
    page_watch.check(page)
    press(page, page.get_by_role("button", name="Oui, annuler le rendez-vous"))
    page.wait_for_selector("text=Votre rendez-vous est annulé")
    page_watch.check(page)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    cancelled = calendar_of([m for m in mail.outbox if m.to == [EMAIL]][-1])
    assert cancelled["method"] == "CANCEL"
    assert int(cancelled.walk("VEVENT")[0]["sequence"]) == 2
    # The slots are free again for others.
    assert Slot.objects.filter(pk__in=[slots[0].pk, ten.pk], booked=0).count() == 2
