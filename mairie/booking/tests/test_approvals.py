"""Resources that need an approval: the request holds the slot, the approvers are notified,
the approver confirms or refuses (with a reason), the booker is told; cancellations."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from mairie.booking import queries, services
from mairie.booking.models import Reservation
from mairie.core.notifications.models import Notification

from .conftest import next_thursday

pytestmark = pytest.mark.django_db


@pytest.fixture
def hall(make_resource, other_service):
    """Owned by Urbanisme, approved by its manager."""
    return make_resource("Salle des fêtes", capacity=150, owner=other_service,
                         requires_approval=True)


def test_a_request_is_approved_and_the_booker_told(agent, colleague, hall, planning_manager,
                                                   planner):
    request = services.reserve(actor=agent, resource=hall, start=next_thursday(18),
                               end=next_thursday(22), title="Repas des aînés")
    assert request.state == Reservation.State.REQUESTED
    asked = Notification.objects.get(kind=services.KIND_TO_DECIDE)
    assert asked.recipient == planning_manager
    assert "demande à réserver Salle des fêtes" in asked.title
    # The request holds its slot.
    with pytest.raises(services.Conflict):
        services.reserve(actor=colleague, resource=hall, start=next_thursday(20),
                         end=next_thursday(23))
    assert list(queries.requests_to_decide(planning_manager, hall.organisation)) == [request]
    assert not queries.requests_to_decide(planner, hall.organisation).exists()
    assert not queries.requests_to_decide(agent, hall.organisation).exists()
    for someone in (agent, planner):
        with pytest.raises(PermissionDenied):
            services.approve(actor=someone, reservation=request)
    services.approve(actor=planning_manager, reservation=request)
    request.refresh_from_db()
    assert request.state == Reservation.State.CONFIRMED
    assert request.decided_by == planning_manager
    told = Notification.objects.get(kind=services.KIND_DECIDED)
    assert told.recipient == agent and "est acceptée" in told.title
    with pytest.raises(ValidationError, match="déjà été traitée"):
        services.approve(actor=planning_manager, reservation=request)


def test_a_refusal_needs_a_reason_and_frees_the_slot(agent, colleague, hall, planning_manager):
    request = services.reserve(actor=agent, resource=hall, start=next_thursday(18),
                               end=next_thursday(22))
    with pytest.raises(ValidationError):
        services.refuse(actor=planning_manager, reservation=request, reason="  ")
    services.refuse(actor=planning_manager, reservation=request,
                    reason="Salle prise pour les élections.")
    request.refresh_from_db()
    assert request.state == Reservation.State.REFUSED
    told = Notification.objects.get(kind=services.KIND_DECIDED)
    assert "est refusée" in told.title and told.body == "Salle prise pour les élections."
    services.reserve(actor=colleague, resource=hall, start=next_thursday(18),
                     end=next_thursday(22))


def test_an_approver_s_own_booking_is_confirmed_at_once(hall, planning_manager):
    own = services.reserve(actor=planning_manager, resource=hall, start=next_thursday(9),
                           end=next_thursday(10))
    assert own.state == Reservation.State.CONFIRMED
    assert not Notification.objects.filter(kind=services.KIND_TO_DECIDE).exists()


def test_the_administrators_decide_when_nobody_holds_the_approving_role(agent, administrator,
                                                                        make_resource):
    room = make_resource("Salle d'honneur", capacity=40, requires_approval=True,
                         approver_role="director")
    request = services.reserve(actor=agent, resource=room, start=next_thursday(9),
                               end=next_thursday(10))
    assert Notification.objects.get(kind=services.KIND_TO_DECIDE).recipient == administrator
    services.approve(actor=administrator, reservation=request)


def test_a_whole_series_is_approved_at_once(agent, hall, planning_manager):
    result = services.reserve_series(actor=agent, resource=hall, start=next_thursday(18),
                                     end=next_thursday(20), rrule="FREQ=WEEKLY;COUNT=3")
    assert {r.state for r in result.reservations} == {"requested"}
    asked = Notification.objects.get(kind=services.KIND_TO_DECIDE)
    assert "(3 occurrences)" in asked.title
    approved = services.approve(actor=planning_manager, reservation=result.reservations[1],
                                whole_series=True)
    assert len(approved) == 3
    assert set(Reservation.objects.values_list("state", flat=True)) == {"confirmed"}


def test_who_may_cancel(agent, colleague, planner, manager, room):
    mine = services.reserve(actor=agent, resource=room, start=next_thursday(9),
                            end=next_thursday(10))
    with pytest.raises(PermissionDenied):
        services.cancel(actor=planner, reservation=mine)  # another service's agent
    # The owning service (the colleague is in it) manages its reservations.
    services.cancel(actor=manager, reservation=mine, reason="Salle en travaux")
    mine.refresh_from_db()
    assert mine.state == Reservation.State.CANCELLED and mine.cancelled_by == manager
    told = Notification.objects.get(kind=services.KIND_CANCELLED)
    assert told.recipient == agent and told.body == "Salle en travaux"
    with pytest.raises(ValidationError, match="déjà annulée"):
        services.cancel(actor=agent, reservation=mine)
    own = services.reserve(actor=planner, resource=room, start=next_thursday(11),
                           end=next_thursday(12))
    services.cancel(actor=planner, reservation=own)  # one's own: nobody else to tell
    assert Notification.objects.filter(kind=services.KIND_CANCELLED).count() == 1
