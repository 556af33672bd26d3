"""The agent's booking page (resources and free resources for a time range) and the secret
iCalendar feeds per resource and per agent."""

import icalendar
import pytest
from django.urls import reverse

from mairie.booking import services
from mairie.booking.models import FeedToken

from .conftest import next_thursday

pytestmark = pytest.mark.django_db


def events_of(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    return icalendar.Calendar.from_ical(response.content).walk("VEVENT")


def test_the_resource_feed_lists_its_reservations(client, agent, colleague, room,
                                                  make_resource, other_service):
    hall = make_resource("Salle des fêtes", owner=other_service, requires_approval=True)
    services.reserve(actor=agent, resource=room, start=next_thursday(14),
                     end=next_thursday(16), title="Commission des finances")
    gone = services.reserve(actor=colleague, resource=room, start=next_thursday(17),
                            end=next_thursday(18))
    services.cancel(actor=colleague, reservation=gone)
    services.reserve(actor=agent, resource=hall, start=next_thursday(18),
                     end=next_thursday(20))
    [event] = events_of(client.get(reverse("booking:resource-feed", args=[room.feed_token])))
    assert str(event["summary"]) == f"Commission des finances — {agent.get_full_name()}"
    assert event.decoded("dtstart") == next_thursday(14)
    assert str(event["status"]) == "CONFIRMED"
    [pending] = events_of(client.get(reverse("booking:resource-feed", args=[hall.feed_token])))
    assert str(pending["status"]) == "TENTATIVE"
    assert client.get(reverse("booking:resource-feed", args=["nope"])).status_code == 404
    old = room.feed_token
    services.reset_resource_feed(actor=agent, resource=room)
    assert client.get(reverse("booking:resource-feed", args=[old])).status_code == 404


def test_the_user_feed_lists_one_s_own_reservations(client, agent, colleague, room):
    services.reserve(actor=agent, resource=room, start=next_thursday(9), end=next_thursday(10))
    services.reserve(actor=colleague, resource=room, start=next_thursday(11),
                     end=next_thursday(12))
    token = services.feed_token_for(actor=agent, organisation=agent.organisation)
    [event] = events_of(client.get(reverse("booking:user-feed", args=[token.token])))
    assert str(event["summary"]) == "Salle du conseil"
    services.feed_token_for(actor=agent, organisation=agent.organisation, reset=True)
    assert client.get(reverse("booking:user-feed", args=[token.token])).status_code == 404
    assert FeedToken.objects.count() == 1


def test_a_feed_is_not_served_on_another_organisation_s_host(client, room, other_organisation):
    url = reverse("booking:resource-feed", args=[room.feed_token])
    assert client.get(url, HTTP_HOST="autre.localhost").status_code == 404


def test_the_page_finds_a_room_for_eight_on_thursday_afternoon(client, agent, colleague,
                                                               make_resource):
    make_resource("Bureau 4", capacity=4)
    taken = make_resource("Salle des mariages", capacity=10)
    make_resource("Salle du conseil", capacity=20)
    services.reserve(actor=colleague, resource=taken, start=next_thursday(14),
                     end=next_thursday(15))
    client.force_login(agent)
    day = next_thursday(14).date().isoformat()
    response = client.get(reverse("booking:resources"), {
        "day": day, "start": "14:00", "end": "18:00", "min_capacity": "8", "kind": "room"})
    assert response.status_code == 200
    free = [r.name for r in response.context["free"]]
    assert free == ["Salle du conseil"]
    assert "1 ressource libre" in response.content.decode()
    assert len(response.context["resources"]) == 3


def test_the_page_is_for_agents(client, resident):
    client.force_login(resident)
    assert client.get(reverse("booking:resources")).status_code == 403


def test_the_page_s_queries_do_not_grow_with_the_resources(client, agent, colleague,
                                                           make_resource,
                                                           django_assert_max_num_queries):
    client.force_login(agent)
    params = {"day": next_thursday(14).date().isoformat(), "start": "14:00", "end": "18:00"}
    for number in range(3):
        make_resource(f"Salle {number}", capacity=10)
    client.get(reverse("booking:resources"), params)  # warms the session and the feed token
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("booking:resources"), params)
    for number in range(3, 15):
        services.reserve(actor=colleague, resource=make_resource(f"Salle {number}",
                                                                 capacity=10),
                         start=next_thursday(9), end=next_thursday(10))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("booking:resources"), params)
