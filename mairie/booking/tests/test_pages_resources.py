"""The resource page (description, rules, agenda of the next two weeks, secret feed for its
managers, loan history) and the managers' pages to create, edit and deactivate a resource."""

import datetime

import pytest
from django.urls import reverse

from mairie.booking import services
from mairie.booking.models import BookingRight, Resource
from mairie.core.audit.models import AuditEvent
from mairie.core.organisation.models import Role

from .conftest import next_thursday

pytestmark = pytest.mark.django_db


def test_the_resource_page_shows_rules_agenda_and_feed(client, agent, colleague, planner,
                                                       make_resource, service, other_service):
    hall = make_resource("Salle des fêtes", capacity=120, equipment=["Sono", "Scène"],
                         accessible=True, accessibility_notes="Rampe côté parking",
                         requires_approval=True, max_duration=datetime.timedelta(hours=4),
                         quota_hours_per_week=6, max_days_ahead=60,
                         rights=[(service, ""), (other_service, Role.MANAGER)])
    services.reserve(actor=colleague, resource=hall, start=next_thursday(14),
                     end=next_thursday(16), title="Entretien confidentiel")
    services.reserve(actor=colleague, resource=hall, start=next_thursday(9, weeks=3),
                     end=next_thursday(10, weeks=3), title="Trop loin")
    url = reverse("booking:resource", args=[hall.pk])
    client.force_login(agent)  # same service as the owner: manages it
    page = client.get(url).content.decode()
    for text in ("120 places", "Sono, Scène", "Rampe côté parking", "60 jours à l'avance",
                 "4 h", "6 heures par semaine", "Chef de service",
                 "Accueil et état civil", "Urbanisme", "Paul Collègue", "14:00–16:00",
                 "Entretien confidentiel", "en attente de validation", hall.feed_token):
        assert text in page, text
    assert "Trop loin" not in page  # beyond the two weeks
    assert "Réserver" in page


def test_the_agenda_hides_titles_and_the_feed_from_who_does_not_manage(client, colleague,
                                                                       planner, room,
                                                                       make_resource):
    services.reserve(actor=colleague, resource=room, start=next_thursday(14),
                     end=next_thursday(16), title="Entretien confidentiel")
    client.force_login(planner)  # another service, may book the room (no right line)
    page = client.get(reverse("booking:resource", args=[room.pk])).content.decode()
    assert "Paul Collègue" in page and "Entretien confidentiel" not in page
    assert room.feed_token not in page
    assert client.post(reverse("booking:resource-feed-reset", args=[room.pk])).status_code \
        == 403


def test_the_resource_feed_is_reset_from_its_page(client, agent, room):
    client.force_login(agent)
    old = room.feed_token
    response = client.post(reverse("booking:resource-feed-reset", args=[room.pk]))
    assert response.status_code == 302
    room.refresh_from_db()
    assert room.feed_token != old
    assert AuditEvent.objects.filter(action="booking.resource_feed_reset").exists()
    assert client.get(reverse("booking:resource-feed", args=[old])).status_code == 404


def test_another_service_or_organisation_does_not_see_a_restricted_resource(
        client, planner, foreign_agent, make_resource, service):
    private = make_resource("Bureau du maire", rights=[(service, "")])
    url = reverse("booking:resource", args=[private.pk])
    client.force_login(planner)
    assert client.get(url).status_code == 404
    assert private.name not in client.get(reverse("booking:resources")).content.decode()
    client.force_login(foreign_agent)
    assert client.get(url, HTTP_HOST="autre.localhost").status_code == 404


def resource_data(**extra):
    data = {"kind": "room", "name": "Salle Jean-Moulin", "description": "Au premier étage",
            "location": "Mairie annexe", "capacity": "12", "equipment": "Écran, Visio",
            "inventory_number": "", "accessibility_notes": "", "accessible": "on",
            "max_days_ahead": "60", "max_duration_hours": "2.5", "approver_service": "",
            "approver_role": "manager", "quota_hours_per_week": "", "quota_future_reservations":
            "", "droits-TOTAL_FORMS": "2", "droits-INITIAL_FORMS": "0",
            "droits-MIN_NUM_FORMS": "0", "droits-MAX_NUM_FORMS": "30"}
    data.update(extra)
    return data


def test_a_manager_creates_edits_and_deactivates_a_resource(client, manager, service,
                                                            other_service):
    client.force_login(manager)
    assert client.get(reverse("booking:resource-new")).status_code == 200
    response = client.post(reverse("booking:resource-new"), resource_data(
        service=str(service.pk), **{"droits-0-service": str(other_service.pk),
                                    "droits-0-role": ""}))
    assert response.status_code == 302, response.context["form"].errors
    room = Resource.objects.get(name="Salle Jean-Moulin")
    assert room.equipment == ["Écran", "Visio"] and room.capacity == 12
    assert room.max_duration == datetime.timedelta(hours=2, minutes=30)
    assert [(r.service, r.role) for r in room.rights.all()] == [(other_service, "")]
    assert AuditEvent.objects.filter(action="booking.resource_created").exists()

    url = reverse("booking:resource-edit", args=[room.pk])
    page = client.get(url).content.decode()
    assert 'value="Salle Jean-Moulin"' in page and 'value="2.5"' in page
    response = client.post(url, resource_data(
        service=str(service.pk), capacity="14", requires_approval="on",
        **{"droits-TOTAL_FORMS": "3", "droits-0-service": "", "droits-0-role": "",
           "droits-1-service": str(service.pk), "droits-1-role": "agent"}))
    assert response.status_code == 302
    room.refresh_from_db()
    assert room.capacity == 14 and room.requires_approval
    assert [(r.service, r.role) for r in room.rights.all()] == [(service, "agent")]
    event = AuditEvent.objects.get(action="booking.resource_updated")
    assert set(event.details["changed"]) == {"capacity", "requires_approval", "rights"}

    client.post(reverse("booking:resource-active", args=[room.pk]), {"active": "0"})
    room.refresh_from_db()
    assert not room.is_active
    assert AuditEvent.objects.filter(action="booking.resource_deactivated").exists()
    page = client.get(reverse("booking:resource", args=[room.pk])).content.decode()
    assert "n&#x27;est plus réservable" in page or "n'est plus réservable" in page


def test_the_resource_form_keeps_the_draft_on_errors(client, manager, service, room):
    client.force_login(manager)
    response = client.post(reverse("booking:resource-new"), resource_data(
        service=str(service.pk), name="Salle du conseil", capacity="0"))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "capacity" in errors
    assert "error-summary" in response.content.decode()
    assert 'value="Au premier étage"' in response.content.decode() or \
        "Au premier étage" in response.content.decode()
    response = client.post(reverse("booking:resource-new"), resource_data(
        service=str(service.pk), name="Salle du conseil"))
    assert response.status_code == 200
    assert "porte déjà ce nom" in " ".join(response.context["form"].errors["name"])


def test_who_may_not_manage_resources(client, agent, planning_manager, foreign_agent, room,
                                      service):
    client.force_login(agent)  # a plain agent of the owning service
    assert client.get(reverse("booking:resource-new")).status_code == 403
    assert client.get(reverse("booking:resource-edit", args=[room.pk])).status_code == 403
    assert client.post(reverse("booking:resource-active", args=[room.pk]),
                       {"active": "0"}).status_code == 403
    client.force_login(planning_manager)  # manager of another service
    assert client.get(reverse("booking:resource-edit", args=[room.pk])).status_code == 403
    response = client.post(reverse("booking:resource-new"),
                           resource_data(service=str(service.pk)))
    assert response.status_code == 200 and "service" in response.context["form"].errors
    client.force_login(foreign_agent)
    assert client.get(reverse("booking:resource-edit", args=[room.pk]),
                      HTTP_HOST="autre.localhost").status_code == 404
    room.refresh_from_db()
    assert room.is_active and not BookingRight.objects.exists()


def test_the_resource_page_s_queries_are_bounded(client, agent, colleague, room,
                                                 django_assert_max_num_queries):
    client.force_login(agent)
    url = reverse("booking:resource", args=[room.pk])
    services.reserve(actor=colleague, resource=room, start=next_thursday(8),
                     end=next_thursday(9))
    client.get(url)
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    for hour in range(10, 20):
        services.reserve(actor=colleague, resource=room, start=next_thursday(hour),
                         end=next_thursday(hour, 30))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)
