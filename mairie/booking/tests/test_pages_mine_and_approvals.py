"""« Mes réservations » (upcoming, past, cancelling one occurrence or the series, the personal
feed and its reset) and the approvers' queue (accept, refuse with a reason, whole series)."""

import pytest
from django.urls import reverse

from mairie.booking import services
from mairie.booking.models import FeedToken, Reservation
from mairie.core.audit.models import AuditEvent
from mairie.core.notifications.models import Notification

from .conftest import next_thursday

pytestmark = pytest.mark.django_db


@pytest.fixture
def hall(make_resource, other_service):
    """Owned by Urbanisme, every booking validated by its manager."""
    return make_resource("Salle des fêtes", owner=other_service, requires_approval=True)


def test_my_reservations_upcoming_and_past(client, agent, colleague, room):
    mine = services.reserve(actor=agent, resource=room, start=next_thursday(9),
                            end=next_thursday(10), title="Permanence")
    services.reserve(actor=colleague, resource=room, start=next_thursday(11),
                     end=next_thursday(12), title="Pas à moi")
    Reservation.objects.filter(pk=mine.pk)  # still upcoming
    old = services.reserve(actor=agent, resource=room, start=next_thursday(13),
                           end=next_thursday(14), title="Ancienne")
    Reservation.objects.filter(pk=old.pk).update(
        start=old.start.replace(year=old.start.year - 1),
        end=old.end.replace(year=old.end.year - 1))
    client.force_login(agent)
    response = client.get(reverse("booking:mine"))
    assert [r.title for r in response.context["upcoming"]] == ["Permanence"]
    assert [r.title for r in response.context["past"]] == ["Ancienne"]
    page = response.content.decode()
    assert "Pas à moi" not in page
    token = FeedToken.objects.get(user=agent)
    assert token.token in page


def test_cancel_one_occurrence_or_the_series(client, agent, room):
    result = services.reserve_series(actor=agent, resource=room, start=next_thursday(14),
                                     end=next_thursday(15), rrule="FREQ=WEEKLY;COUNT=4")
    first, second = result.reservations[:2]
    client.force_login(agent)
    response = client.post(reverse("booking:cancel", args=[first.pk]), {"scope": "one"})
    assert response.status_code == 302
    assert Reservation.objects.filter(state="cancelled").count() == 1
    client.post(reverse("booking:cancel", args=[second.pk]), {"scope": "series"})
    assert Reservation.objects.filter(state="cancelled").count() == 4
    assert AuditEvent.objects.filter(action="booking.cancelled").count() == 2
    again = client.post(reverse("booking:cancel", args=[second.pk]), {"scope": "one"},
                        follow=True)
    assert "déjà annulée" in again.content.decode()


def test_nobody_else_cancels_my_reservation(client, agent, planner, foreign_agent, room):
    reservation = services.reserve(actor=agent, resource=room, start=next_thursday(14),
                                   end=next_thursday(15))
    url = reverse("booking:cancel", args=[reservation.pk])
    client.force_login(planner)  # another service: does not even see it
    assert client.post(url, {"scope": "one"}).status_code == 404
    client.force_login(foreign_agent)
    assert client.post(url, {"scope": "one"}, HTTP_HOST="autre.localhost").status_code == 404
    reservation.refresh_from_db()
    assert reservation.state == "confirmed"


def test_the_personal_feed_is_reset(client, agent):
    client.force_login(agent)
    client.get(reverse("booking:mine"))
    old = FeedToken.objects.get(user=agent).token
    assert client.post(reverse("booking:feed-reset")).status_code == 302
    new = FeedToken.objects.get(user=agent).token
    assert new != old and new in client.get(reverse("booking:mine")).content.decode()
    assert AuditEvent.objects.filter(action="booking.feed_reset").exists()


def test_the_approver_sees_the_queue_and_accepts_a_whole_series(client, agent, hall,
                                                                planning_manager):
    services.reserve_series(actor=agent, resource=hall, start=next_thursday(14),
                            end=next_thursday(16), rrule="FREQ=WEEKLY;COUNT=3",
                            title="Chorale")
    client.force_login(planning_manager)
    response = client.get(reverse("booking:approvals"))
    page = response.content.decode()
    assert len(response.context["rows"]) == 1 and "3 occurrences en attente" in page
    assert response.context["to_decide_count"] == 3
    first = Reservation.objects.order_by("start").first()
    url = reverse("booking:decide", args=[first.pk])
    assert "Chorale" in client.get(url).content.decode()
    response = client.post(url, {"action": "approve", "whole_series": "on"})
    assert response.status_code == 302
    assert set(Reservation.objects.values_list("state", flat=True)) == {"confirmed"}
    assert Notification.objects.filter(recipient=agent,
                                       kind=services.KIND_DECIDED).count() == 1


def test_a_refusal_needs_a_reason(client, agent, hall, planning_manager):
    reservation = services.reserve(actor=agent, resource=hall, start=next_thursday(14),
                                   end=next_thursday(16))
    client.force_login(planning_manager)
    url = reverse("booking:decide", args=[reservation.pk])
    response = client.post(url, {"action": "refuse", "reason": ""})
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert "error-summary" in response.content.decode()
    response = client.post(url, {"action": "refuse", "reason": "Salle en travaux"})
    assert response.status_code == 302
    reservation.refresh_from_db()
    assert reservation.state == "refused" and reservation.refusal_reason == "Salle en travaux"
    assert AuditEvent.objects.filter(action="booking.refused").exists()
    assert client.get(url).status_code == 404  # decided: out of the queue


def test_a_non_approver_cannot_approve(client, agent, colleague, planner, foreign_agent, hall):
    reservation = services.reserve(actor=agent, resource=hall, start=next_thursday(14),
                                   end=next_thursday(16))
    url = reverse("booking:decide", args=[reservation.pk])
    for who in (agent, colleague, planner):  # planner: Urbanisme, but not its manager
        client.force_login(who)
        assert client.get(reverse("booking:approvals")).context["rows"] == []
        assert client.post(url, {"action": "approve"}).status_code == 404
    client.force_login(foreign_agent)
    assert client.post(url, {"action": "approve"},
                       HTTP_HOST="autre.localhost").status_code == 404
    reservation.refresh_from_db()
    assert reservation.state == "requested"


def test_list_pages_queries_are_bounded(client, agent, hall, planning_manager, room,
                                        django_assert_max_num_queries):
    def book(hour, week):
        services.reserve(actor=agent, resource=hall, start=next_thursday(hour, weeks=week),
                         end=next_thursday(hour, 30, weeks=week))
        services.reserve(actor=agent, resource=room, start=next_thursday(hour, weeks=week),
                         end=next_thursday(hour, 30, weeks=week))

    book(8, 0)
    for who, name in ((agent, "booking:mine"), (planning_manager, "booking:approvals")):
        client.force_login(who)
        client.get(reverse(name))
        with django_assert_max_num_queries(20) as few:
            client.get(reverse(name))
        counts = len(few.captured_queries)
        for hour in range(9, 15):
            book(hour, 1 if name == "booking:mine" else 2)
        with django_assert_max_num_queries(counts):
            client.get(reverse(name))
