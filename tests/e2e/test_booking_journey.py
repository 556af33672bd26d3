"""Journey (issue 6): an agent books the council room every week; a colleague already holds
one of the weeks, so the conflict report shows it (date and who) and she books the free
occurrences only. Then the equipment manager lends her a laptop, which becomes overdue: the
reminder runs, the loans page shows « En retard » and she got the reminder. Every page passes
axe-core."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mairie.booking import services
from mairie.booking.models import Loan, Reservation, ReservationSeries
from mairie.core.factories import agent_factory
from mairie.core.notifications.models import Notification
from mairie.core.organisation.models import Role

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def next_thursday(hour: int, weeks: int = 0) -> datetime.datetime:
    today = timezone.localdate(timezone.now(), PARIS)
    day = today + datetime.timedelta(days=((3 - today.weekday()) % 7 or 7) + 7 * weeks)
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=PARIS)


def test_weekly_booking_with_a_conflict_then_an_overdue_laptop(
        new_page, page_watch, live_server, organisation, service, administrator):
    booker = agent_factory(service=service, email="lea.martin@valmont.example",
                           first_name="Léa", last_name="Martin")
    colleague = agent_factory(service=service, email="paul.collegue@valmont.example",
                              first_name="Paul", last_name="Collègue")
    keeper = agent_factory(service=service, role=Role.MANAGER,
                           email="materiel@valmont.example", first_name="Marc",
                           last_name="Matériel")
    room = services.create_resource(actor=administrator, service=service, kind="room",
                                    name="Salle du conseil", capacity=20,
                                    equipment=["Vidéoprojecteur"], accessible=True)
    services.create_resource(actor=administrator, service=service, kind="equipment",
                             name="Portable PC-12", inventory_number="INV-0012")
    services.reserve(actor=colleague, resource=room, start=next_thursday(14, weeks=2),
                     end=next_thursday(16, weeks=2), title="Jury")

    # She looks for the room and opens its page.
    page = new_page(user=booker)
    page.goto("/agent/reservations/")
    page_watch.check(page)
    page.get_by_role("link", name="Salle du conseil").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Salle du conseil")
    page_watch.check(page)
    page.get_by_role("link", name="Réserver", exact=True).click()
    page.wait_for_selector("h1:has-text('Réserver Salle du conseil')")
    page_watch.check(page)

    # Every Thursday 14:00–16:00, four times.
    form = page.locator("main form").last
    form.locator("[name=day]").fill(next_thursday(14).date().isoformat())
    form.locator("[name=start]").fill("14:00")
    form.locator("[name=end]").fill("16:00")
    form.get_by_label("Objet").fill("Réunion d'équipe")
    form.get_by_label("Chaque semaine").check()
    form.get_by_label("Nombre d'occurrences").fill("4")
    form.get_by_role("button", name="Réserver").click()

    # The report: the third Thursday is Paul's; the draft is still in the form.
    report = page.locator("#report")
    expect(report).to_contain_text("1 occurrence est déjà prise")
    expect(report).to_contain_text("Paul Collègue")
    expect(report).to_contain_text(next_thursday(14, weeks=2).strftime("%d/%m/%Y 14:00–16:00"))
    expect(page.locator("main form").last.get_by_label("Objet")).to_have_value(
        "Réunion d'équipe")
    page_watch.check(page)
    assert not ReservationSeries.objects.exists()
    report.get_by_role("button", name="Réserver seulement les 3 occurrences libres").click()
    page.wait_for_selector("h1:has-text('Mes réservations')")
    expect(page.locator(".messages")).to_contain_text("3 occurrences réservées")
    page_watch.check(page)
    series = ReservationSeries.objects.get()
    assert sorted(r.start for r in series.reservations.all()) == [
        next_thursday(14, weeks=w) for w in (0, 1, 3)]
    assert Reservation.objects.get(title="Jury").booker == colleague

    # The equipment manager lends her the laptop for a week.
    desk = new_page(user=keeper)
    desk.goto("/agent/reservations/prets/")
    expect(desk.get_by_role("row").filter(has_text="Portable PC-12")).to_contain_text(
        "Disponible")
    page_watch.check(desk)
    desk.get_by_role("link", name="Prêter Portable PC-12").click()
    desk.wait_for_selector("h1:has-text('Prêter Portable PC-12')")
    page_watch.check(desk)
    form = desk.locator("main form")
    form.get_by_label("Emprunteur").select_option(label="Léa Martin (lea.martin@valmont.example)")
    due = timezone.localdate(timezone.now(), PARIS) + datetime.timedelta(days=7)
    form.get_by_label("À rendre le").fill(due.isoformat())
    form.get_by_label("État au départ").fill("Chargeur fourni")
    form.get_by_role("button", name="Enregistrer le prêt").click()
    desk.wait_for_selector("h1:has-text('Prêts de matériel')")
    expect(desk.get_by_role("row").filter(has_text="Portable PC-12")).to_contain_text(
        f"prêté à Léa Martin jusqu'au {due:%d/%m/%Y}")
    page_watch.check(desk)

    # A week and two days later it is not back: the reminder runs.
    Loan.objects.update(due_on=timezone.localdate(timezone.now(), PARIS)
                        - datetime.timedelta(days=2))
    assert services.remind_overdue_loans() == 1
    desk.reload()
    expect(desk.locator("#overdue-title")).to_have_text("1 prêt en retard")
    expect(desk.get_by_role("row").filter(has_text="Portable PC-12")).to_contain_text(
        "En retard")
    page_watch.check(desk)

    # She has the reminder among her notifications.
    assert Notification.objects.filter(recipient=booker, kind=services.KIND_LOAN,
                                       title__contains="devait être rendu").exists()
    page.goto("/agent/notifications/")
    expect(page.locator("main")).to_contain_text("Portable PC-12 prêté à Léa Martin devait "
                                                 "être rendu le")
    page_watch.check(page)


def test_managers_pages_pass_axe(new_page, page_watch, live_server, organisation, service,
                                 other_service, administrator):
    """The pages the first journey does not visit: a resource's creation (with an error),
    the approvals queue, a refusal without reason, the check-in form."""
    booker = agent_factory(service=service, email="lea.martin@valmont.example",
                           first_name="Léa", last_name="Martin")
    approver = agent_factory(service=other_service, role=Role.MANAGER,
                             email="chef-urba@valmont.example", first_name="Hervé",
                             last_name="Chef")
    hall = services.create_resource(actor=administrator, service=other_service, kind="room",
                                    name="Salle des fêtes", requires_approval=True)
    laptop = services.create_resource(actor=administrator, service=other_service,
                                      kind="equipment", name="Portable PC-14")
    services.reserve_series(actor=booker, resource=hall, start=next_thursday(18),
                            end=next_thursday(20), rrule="FREQ=WEEKLY;COUNT=3",
                            title="Chorale")
    services.check_out(actor=approver, resource=laptop, borrower=booker,
                       due_on=timezone.localdate(timezone.now(), PARIS)
                       + datetime.timedelta(days=3))

    page = new_page(user=approver)
    page.goto("/agent/reservations/ressources/nouvelle/")
    page_watch.check(page)
    page.locator("main form").get_by_role("button", name="Créer la ressource").click()
    expect(page.locator("#error-summary")).to_be_visible()
    page_watch.check(page)

    page.goto("/agent/reservations/")
    page.get_by_role("link", name="À valider").click()
    expect(page.get_by_role("row").filter(has_text="Salle des fêtes")).to_contain_text(
        "3 occurrences en attente")
    page_watch.check(page)
    page.get_by_role("link", name="Examiner").first.click()
    page_watch.check(page)
    page.get_by_role("button", name="Refuser").click()
    expect(page.locator("#error-summary")).to_contain_text("Motif du refus")
    page_watch.check(page)
    page.get_by_label("Motif du refus").fill("Salle en travaux")
    page.get_by_label("Refuser toutes les occurrences en attente de la série").check()
    page.get_by_role("button", name="Refuser").click()
    expect(page.locator(".messages")).to_contain_text("3 réservations refusées")
    page_watch.check(page)

    page.goto(f"/agent/reservations/ressources/{laptop.pk}/")
    page_watch.check(page)
    page.get_by_role("link", name="Enregistrer le retour").click()
    page_watch.check(page)
    page.get_by_label("État au retour").fill("Bon état")
    page.locator("main form").get_by_role("button", name="Enregistrer le retour").click()
    expect(page.get_by_role("row").filter(has_text="Portable PC-14")).to_contain_text(
        "Disponible")
    assert Loan.objects.get().condition_in == "Bon état"
    assert set(Reservation.objects.values_list("state", flat=True)) == {"refused"}
