"""Personal data of the booking: the register lists it, « Mes données » holds an agent's
reservations and loans, an erasure detaches the person from what has ended and keeps what
still holds a resource, and closing the account of a former agent who booked and borrowed
works (no ProtectedError)."""

import datetime
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from mairie.booking import services
from mairie.booking.models import FeedToken, Loan, Reservation, ReservationSeries
from mairie.core.accounts.services import delete_account
from mairie.core.organisation.models import Membership
from mairie.core.privacy import services as privacy
from mairie.core.privacy.registry import activities

from .conftest import next_thursday

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(organisation, colleague, manager, agent, room, laptop):
    """The colleague's past and future reservations, a weekly series, a returned and an
    open loan; and someone else's reservation."""
    future = services.reserve(actor=colleague, resource=room, start=next_thursday(9),
                              end=next_thursday(10), title="Entretien")
    past = services.reserve(actor=colleague, resource=room, start=next_thursday(11),
                            end=next_thursday(12), title="Ancienne réunion")
    Reservation.objects.filter(pk=past.pk).update(
        start=timezone.now() - datetime.timedelta(days=10, hours=2),
        end=timezone.now() - datetime.timedelta(days=10))
    series = services.reserve_series(actor=colleague, resource=room, start=next_thursday(14),
                                     end=next_thursday(15), rrule="FREQ=WEEKLY;COUNT=2")
    services.cancel(actor=colleague, reservation=series.reservations[0], whole_series=True)
    other = services.reserve(actor=agent, resource=room, start=next_thursday(16),
                             end=next_thursday(17))
    returned = services.check_out(actor=manager, resource=laptop, borrower=colleague,
                                  due_on=timezone.localdate())
    services.check_in(actor=manager, loan=returned)
    projector = services.create_resource(actor=manager, service=room.service,
                                         kind="equipment", name="Vidéoprojecteur 1")
    out = services.check_out(actor=manager, resource=projector, borrower=colleague,
                             due_on=timezone.localdate() + datetime.timedelta(days=3))
    services.feed_token_for(actor=colleague, organisation=organisation)
    return {"future": future, "past": past, "series": series.series, "other": other,
            "returned": returned, "out": out}


def test_the_register_lists_the_booking_activities(client, administrator):
    assert {"booking.reservations", "booking.loans"} <= {a.key for a in activities()}
    client.force_login(administrator)
    page = client.get(reverse("privacy:register")).content.decode()
    assert "Réservations de salles, véhicules et matériel" in page
    assert "Prêts de matériel aux agents" in page


def test_my_data_holds_my_reservations_and_loans(client, colleague, history):
    client.force_login(colleague)
    data = json.loads(client.get(reverse("privacy:my-data-json")).content)
    sections = {section["key"]: section["rows"] for section in data["sections"]}
    titles = {row["title"] for row in sections["booking.reservations"]}
    assert {"Entretien", "Ancienne réunion"} <= titles
    assert len(sections["booking.reservations"]) == 4  # the series' two occurrences too
    assert {row["item"] for row in sections["booking.loans"]} == {"Portable PC-12",
                                                                  "Vidéoprojecteur 1"}


def test_an_erasure_detaches_what_ended_and_keeps_what_holds_a_resource(
        organisation, administrator, colleague, agent, history):
    request = privacy.record_request(actor=administrator, organisation=organisation, values={
        "kind": "erasure", "requester_name": "Paul", "requester_email": colleague.email})
    done = privacy.erase(actor=administrator, privacy_request=request)
    for key in ("past", "returned", "future", "out", "other", "series"):
        history[key].refresh_from_db()
    assert history["past"].booker is None and history["returned"].borrower is None
    assert ReservationSeries.objects.get(pk=history["series"].pk).booker is None
    assert history["future"].booker == colleague  # still holds the room
    assert history["out"].borrower == colleague  # the projector is still out
    assert history["other"].booker == agent
    assert not FeedToken.objects.filter(user=colleague).exists()
    assert Reservation.objects.filter(resource=history["past"].resource).count() == 5
    assert any("3 réservations passées ou annulées" in line for line in done.erased)
    assert any("1 prêts rendus" in line for line in done.erased)
    assert any("réservations à venir" in line for line in done.kept)
    assert any("prêts en cours" in line for line in done.kept)


def test_closing_a_former_agents_account_keeps_the_history_without_the_name(colleague,
                                                                           history):
    Membership.objects.filter(user=colleague).delete()  # the agent left
    services.check_in(actor=history["out"].checked_out_by, loan=history["out"])
    colleague.refresh_from_db()
    delete_account(actor=colleague, user=colleague)  # no ProtectedError
    colleague.refresh_from_db()
    assert not colleague.is_active and colleague.first_name == ""
    assert Reservation.objects.filter(pk=history["past"].pk).exists()
    assert Loan.objects.filter(pk=history["returned"].pk).exists()
    assert not FeedToken.objects.filter(user=colleague).exists()
