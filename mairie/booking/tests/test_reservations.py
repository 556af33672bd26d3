"""Single reservations: no overlap (the service's check everywhere, the exclusion constraint
on PostgreSQL), the rules of a resource (window, duration, quotas), who may book, and the
search of free resources ("a room for 8 people Thursday afternoon")."""

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from mairie.booking import queries, rules, services
from mairie.booking.models import Reservation
from mairie.core.audit.models import AuditEvent
from mairie.core.organisation.models import Role

from .conftest import at, next_thursday

pytestmark = pytest.mark.django_db



def test_an_overlapping_reservation_is_refused_with_what_holds_the_slot(agent, colleague, room):
    first = services.reserve(actor=agent, resource=room, start=next_thursday(14),
                             end=next_thursday(16), title="Commission")
    assert first.state == Reservation.State.CONFIRMED
    with pytest.raises(services.Conflict) as refused:
        services.reserve(actor=colleague, resource=room, start=next_thursday(15),
                         end=next_thursday(17))
    assert refused.value.clash == first
    message = refused.value.messages[0]
    assert "Salle du conseil est déjà réservée" in message
    assert next_thursday(14).strftime("%d/%m/%Y 14:00–16:00") in message
    assert agent.get_full_name() in message
    # Back to back is not an overlap ([start, end) ranges).
    services.reserve(actor=colleague, resource=room, start=next_thursday(16),
                     end=next_thursday(17))
    assert Reservation.objects.filter(resource=room).count() == 2
    assert AuditEvent.objects.filter(action="booking.reserved").count() == 2


def test_a_cancelled_reservation_frees_its_slot(agent, colleague, room):
    first = services.reserve(actor=agent, resource=room, start=next_thursday(14),
                             end=next_thursday(16))
    services.cancel(actor=agent, reservation=first)
    again = services.reserve(actor=colleague, resource=room, start=next_thursday(14),
                             end=next_thursday(16))
    assert again.state == Reservation.State.CONFIRMED


def test_the_database_refuses_an_overlap_written_past_the_service(agent, colleague, room):
    Reservation.objects.create(organisation=room.organisation, resource=room, booker=agent,
                               start=next_thursday(14), end=next_thursday(16))
    Reservation.objects.create(organisation=room.organisation, resource=room, booker=agent,
                               start=next_thursday(15), end=next_thursday(17),
                               state=Reservation.State.CANCELLED)  # inactive: allowed
    with pytest.raises(IntegrityError, match="booking_reservation_no_overlap"), \
            transaction.atomic():
        Reservation.objects.create(organisation=room.organisation, resource=room,
                                   booker=colleague, start=next_thursday(15),
                                   end=next_thursday(17))


def test_the_constraint_s_refusal_reaches_the_booker_as_a_conflict(agent, colleague, room,
                                                                    monkeypatch):
    services.reserve(actor=agent, resource=room, start=next_thursday(14),
                     end=next_thursday(16))
    monkeypatch.setattr(services, "_first_clash", lambda *args: None)  # a check that missed
    with pytest.raises(services.Conflict, match="vient d'être pris"):
        services.reserve(actor=colleague, resource=room, start=next_thursday(15),
                         end=next_thursday(17))
    assert Reservation.objects.filter(resource=room).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_attempts_on_one_slot_give_exactly_one_reservation(service, make_resource):
    from mairie.core.factories import agent_factory

    room = make_resource("Salle des fêtes", capacity=100)
    agents = [agent_factory(service=service, totp=False) for _ in range(6)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(agents))

    def attempt(user):
        from django.db import connections

        try:
            barrier.wait(timeout=10)
            services.reserve(actor=user, resource=room, start=next_thursday(9),
                             end=next_thursday(12))
            outcomes.append("booked")
        except services.Conflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(user,)) for user in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["booked"] + ["conflict"] * 5
    assert Reservation.objects.filter(resource=room).count() == 1


def test_the_booking_window_the_past_and_the_maximum_duration(agent, make_resource):
    room = make_resource("Salle Jean Moulin", capacity=8, max_days_ahead=30,
                         max_duration=datetime.timedelta(hours=2))
    with pytest.raises(ValidationError) as beyond:
        services.reserve(actor=agent, resource=room, start=at(40, 10), end=at(40, 11))
    assert "au plus 30 jours à l'avance" in beyond.value.message_dict["start"][0]
    with pytest.raises(ValidationError) as too_long:
        services.reserve(actor=agent, resource=room, start=at(3, 9), end=at(3, 12))
    assert "dure au plus 2 h" in too_long.value.message_dict["end"][0]
    with pytest.raises(ValidationError) as past:
        services.reserve(actor=agent, resource=room, start=at(-1, 9), end=at(-1, 10))
    assert "déjà passé" in past.value.message_dict["start"][0]
    with pytest.raises(ValidationError) as backwards:
        services.reserve(actor=agent, resource=room, start=at(3, 11), end=at(3, 10))
    assert "après le début" in backwards.value.message_dict["end"][0]
    services.reserve(actor=agent, resource=room, start=at(30, 9), end=at(30, 11))
    assert not Reservation.objects.exclude(start=at(30, 9)).exists()


def test_quota_of_future_reservations_per_person(agent, colleague, make_resource):
    car = make_resource("Kangoo EV-123", kind="vehicle", capacity=2,
                        quota_future_reservations=2)
    for day in (2, 3):
        services.reserve(actor=agent, resource=car, start=at(day, 9), end=at(day, 10))
    with pytest.raises(ValidationError) as refused:
        services.reserve(actor=agent, resource=car, start=at(4, 9), end=at(4, 10))
    assert refused.value.code == "quota"
    assert "déjà 2 réservations à venir de Kangoo EV-123" in refused.value.messages[0]
    services.reserve(actor=colleague, resource=car, start=at(4, 9), end=at(4, 10))


def test_quota_of_hours_per_week_per_person(agent, make_resource):
    room = make_resource("Salle de réunion B", capacity=6, quota_hours_per_week=4)
    services.reserve(actor=agent, resource=room, start=next_thursday(9),
                     end=next_thursday(12))
    with pytest.raises(ValidationError) as refused:
        services.reserve(actor=agent, resource=room, start=next_thursday(14),
                         end=next_thursday(16))
    assert "dépasse les 4 heures" in refused.value.messages[0]
    assert "déjà 3 h" in refused.value.messages[0]
    services.reserve(actor=agent, resource=room, start=next_thursday(14),
                     end=next_thursday(15))
    # The next week counts from zero.
    services.reserve(actor=agent, resource=room, start=next_thursday(9, weeks=1),
                     end=next_thursday(13, weeks=1))


def test_free_resources_for_a_time_range_and_a_size(agent, colleague, make_resource, laptop,
                                                    manager):
    small = make_resource("Bureau 4", capacity=4)
    medium = make_resource("Salle des mariages", capacity=10)
    large = make_resource("Salle du conseil", capacity=20)
    make_resource("Salle fermée", capacity=50, is_active=False)
    car = make_resource("Clio", kind="vehicle", capacity=5)
    services.reserve(actor=colleague, resource=medium, start=next_thursday(13),
                     end=next_thursday(15))
    start, end = next_thursday(14), next_thursday(18)  # Thursday afternoon
    for_eight = queries.free_resources(agent, agent.organisation, start=start, end=end,
                                       min_capacity=8, kind="room")
    assert list(for_eight) == [large]
    rooms = queries.free_resources(agent, agent.organisation, start=start, end=end,
                                   kind="room")
    assert list(rooms) == [small, large]
    everything = set(queries.free_resources(agent, agent.organisation, start=start, end=end))
    assert everything == {small, large, car, laptop}
    # Once the medium room's reservation ends, it is free again.
    later = queries.free_resources(agent, agent.organisation, start=next_thursday(15),
                                   end=next_thursday(18), min_capacity=8)
    assert list(later) == [medium, large]
    # An item out on loan is not free.
    services.check_out(actor=manager, resource=laptop, borrower=agent,
                       due_on=start.date() + datetime.timedelta(days=7))
    assert laptop not in queries.free_resources(agent, agent.organisation, start=start,
                                                end=end)
    assert not queries.free_resources(agent, agent.organisation, start=end, end=start).exists()


def test_a_resource_restricted_to_another_service(agent, planner, make_resource,
                                                  other_service, room):
    van = make_resource("Camion benne", kind="vehicle", capacity=3,
                        rights=[(other_service, "")], owner=other_service)
    assert not rules.may_book(agent, van) and rules.may_book(planner, van)
    with pytest.raises(PermissionDenied):
        services.reserve(actor=agent, resource=van, start=at(2, 9), end=at(2, 10))
    assert van not in queries.resources_visible_to(agent, agent.organisation)
    assert van not in queries.free_resources(agent, agent.organisation, start=at(2, 9),
                                             end=at(2, 10))
    assert set(queries.resources_visible_to(planner, planner.organisation)) == {van, room}
    services.reserve(actor=planner, resource=van, start=at(2, 9), end=at(2, 10))
    # The agent does not see the other service's reservations either.
    assert not queries.reservations_visible_to(agent, agent.organisation).exists()
    assert queries.reservations_visible_to(planner, planner.organisation).count() == 1


def test_a_resource_restricted_to_a_role(agent, manager, administrator, make_resource):
    car = make_resource("Voiture du maire", kind="vehicle", capacity=4,
                        rights=[(None, Role.MANAGER)])
    assert not rules.may_book(agent, car)
    with pytest.raises(PermissionDenied):
        services.reserve(actor=agent, resource=car, start=at(2, 9), end=at(2, 10))
    # The owning service's members still see it (they manage it); the manager books it.
    assert car in queries.resources_visible_to(agent, agent.organisation)
    assert car not in queries.bookable_resources(agent, agent.organisation)
    services.reserve(actor=manager, resource=car, start=at(2, 9), end=at(2, 10))
    assert car in queries.resources_visible_to(administrator, administrator.organisation)


def test_another_organisation_sees_and_books_nothing(foreign_agent, agent, room,
                                                     organisation, other_organisation):
    services.reserve(actor=agent, resource=room, start=at(2, 9), end=at(2, 10))
    assert not queries.resources_visible_to(foreign_agent, organisation).exists()
    assert not queries.resources_visible_to(foreign_agent, other_organisation).exists()
    assert not queries.reservations_visible_to(foreign_agent, organisation).exists()
    assert not queries.free_resources(foreign_agent, organisation, start=at(3, 9),
                                      end=at(3, 10)).exists()
    assert not queries.loans_visible_to(foreign_agent, organisation).exists()
    with pytest.raises(PermissionDenied):
        services.reserve(actor=foreign_agent, resource=room, start=at(3, 9), end=at(3, 10))
    assert not queries.resources_visible_to(agent, other_organisation).exists()


def test_only_a_manager_or_an_administrator_creates_a_resource(agent, manager, service,
                                                               other_service):
    with pytest.raises(PermissionDenied):
        services.create_resource(actor=agent, service=service, kind="room", name="Salle A")
    with pytest.raises(PermissionDenied):
        services.create_resource(actor=manager, service=other_service, kind="room",
                                 name="Salle A")
    created = services.create_resource(actor=manager, service=service, kind="room",
                                       name="Salle A", capacity=12)
    assert created.capacity == 12
    with pytest.raises(ValidationError):
        services.create_resource(actor=manager, service=service, kind="room", name="Salle A")
