"""Journey (issue 6): at the town hall's front desk, an agent opens the day's appointments,
finds the resident who just came in and checks her in — the page then says « Arrivé » —, and
books an appointment next week for a resident on the phone. With the keyboard only for the
actions; every page passes axe-core."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import expect

from mairie.appointments.models import Appointment
from mairie.appointments.tests.desk_helpers import seat, slot_at, today
from mairie.appointments.tests.plan import make_availability, make_counter, make_type

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_agent_checks_a_resident_in_and_books_one_by_phone(
        new_page, page_watch, live_server, organisation, agent):
    counter = make_counter(organisation)
    make_availability(agent, counter)
    passport = make_type(organisation, counters=[counter], agents=[agent])  # slots follow
    seat(slot_at(passport, today(), 16, 40), name="Camille Martin")
    page = new_page(user=agent)

    page.goto("/agent/")
    page.get_by_role("navigation", name="Menu de l'espace agent").get_by_role(
        "link", name="Rendez-vous").click()
    page.wait_for_url("**/agent/rendez-vous/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rendez-vous du")
    row = page.get_by_role("row").filter(has_text="Camille Martin")
    expect(row).to_contain_text("Attendu")
    page_watch.check(page)

    # She is at the desk: the agent checks her in, from the keyboard.
    row.get_by_role("button", name="Arrivé : Camille Martin").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Camille Martin est noté(e) « Arrivé ».")
    row = page.get_by_role("row").filter(has_text="Camille Martin")
    expect(row.locator("strong")).to_have_text("Arrivé")
    page_watch.check(page)
    assert Appointment.objects.get(name="Camille Martin").attendance_by == agent

    # The week shows her too.
    page.get_by_role("link", name="Semaine").click()
    expect(page.get_by_role("main")).to_contain_text("Camille Martin")
    page_watch.check(page)

    # Someone calls for next week: the agent goes to that day and books the 10:00 slot.
    day = today() + datetime.timedelta(days=7)
    page.get_by_role("link", name="Journée").click()
    page.get_by_label("Jour", exact=True).fill(day.isoformat())
    page.get_by_label("Créneaux").select_option(label="Tous les créneaux, libres compris")
    page.get_by_label("Jour", exact=True).press("Enter")
    page.wait_for_url(f"**date={day.isoformat()}**")
    page_watch.check(page)
    page.get_by_role("link", name="Réserver pour un usager — 10:00").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/reserver/")
    expect(page.get_by_role("radio", name="appelle au téléphone")).to_be_checked()
    page.get_by_label("Nom et prénom").focus()
    page.keyboard.type("Léa Dubois")
    page.keyboard.press("Tab")
    page.keyboard.type("lea.dubois@example.org")
    page.keyboard.press("Tab")
    page.keyboard.type("06 98 76 54 32")
    page_watch.check(page)
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:has-text('Rendez-vous de Léa Dubois')")
    expect(page.get_by_role("main")).to_contain_text("Par téléphone")
    page_watch.check(page)
    booked = Appointment.objects.get(name="Léa Dubois")
    assert (booked.channel, booked.booked_by, booked.slot.start.astimezone(
        counter.zone).time()) == ("phone", agent, datetime.time(10))
