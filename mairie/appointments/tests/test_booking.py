"""Booking: capacity exactly, the database refusing a second booking of a full seat, the
agent's time across types, the booking window, anti-hoarding, signed links, moves."""

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from mairie.appointments import queries, services
from mairie.appointments.models import Appointment, Slot
from mairie.core.audit.models import AuditEvent

from .plan import make_availability, make_counter, make_type, next_weekday

RESIDENT = {"name": "Camille Martin", "email": "camille@example.org", "phone": "06 12 34 56 78"}


@pytest.fixture
def counter(organisation):
    return make_counter(organisation)


@pytest.fixture
def passport(organisation, agent, counter):
    make_availability(agent, counter)
    appointment_type = make_type(organisation, counters=[counter], agents=[agent])
    monday = next_weekday(0)
    services.generate_slots(appointment_type=appointment_type, start=monday,
                            end=monday + datetime.timedelta(days=1))
    return appointment_type


def first_slot(appointment_type, *, on=None):
    slots = Slot.objects.filter(appointment_type=appointment_type)
    if on is not None:
        start = datetime.datetime.combine(on, datetime.time.min,
                                          tzinfo=timezone.get_current_timezone())
        slots = slots.filter(start__gte=start)
    return slots.order_by("start").first()


def test_booking_without_an_account_takes_the_seat_and_is_audited(passport):
    slot = first_slot(passport)
    appointment = services.book_appointment(appointment_type=passport, slot=slot, **RESIDENT)
    slot.refresh_from_db()
    assert slot.booked == 1 and not slot.is_free
    assert (appointment.seat, appointment.status) == (0, Appointment.Status.BOOKED)
    assert appointment.phone_key == "+33612345678"
    assert appointment.email_key == "camille@example.org"
    assert AuditEvent.objects.filter(action="appointments.booked",
                                     object_id=str(appointment.pk)).exists()
    assert slot not in queries.next_free_slots(passport, limit=50)


def test_booking_with_an_account(passport, resident):
    appointment = services.book_appointment(appointment_type=passport,
                                            slot=first_slot(passport), account=resident,
                                            actor=resident)
    assert appointment.account == resident and appointment.email == resident.email
    assert list(queries.appointments_of_account(resident)) == [appointment]


@pytest.mark.parametrize("missing", ["name", "email", "phone"])
def test_without_an_account_name_email_and_phone_are_required(passport, missing):
    person = {**RESIDENT, missing: ""}
    with pytest.raises(services.BookingRefused, match="nom, votre courriel et votre"):
        services.book_appointment(appointment_type=passport, slot=first_slot(passport),
                                  **person)


def test_an_invalid_phone_number_is_refused(passport):
    with pytest.raises(services.BookingRefused, match="numéro de téléphone n'est pas valide"):
        services.book_appointment(appointment_type=passport, slot=first_slot(passport),
                                  **{**RESIDENT, "phone": "12"})


def test_a_group_session_takes_exactly_its_capacity(organisation, agent, counter):
    make_availability(agent, counter)
    session = make_type(organisation, name="Atelier numérique", duration=60, capacity=3,
                        counters=[counter], agents=[agent], max_future_per_person=5)
    monday = next_weekday(0)
    services.generate_slots(appointment_type=session, start=monday, end=monday)
    slot = first_slot(session)
    seats = [services.book_appointment(appointment_type=session, slot=slot,
                                       name=f"Personne {n}", email=f"p{n}@example.org",
                                       phone=f"061234567{n}").seat for n in range(3)]
    assert seats == [0, 1, 2]
    with pytest.raises(services.SlotTaken) as refused:
        services.book_appointment(appointment_type=session, slot=slot, name="Quatrième",
                                  email="p4@example.org", phone="0612345674")
    assert "vient d'être pris" in refused.value.message
    assert refused.value.next_slots and slot not in refused.value.next_slots
    assert refused.value.next_slots[0].start > slot.start
    slot.refresh_from_db()
    assert slot.booked == 3
    assert Appointment.objects.filter(slot=slot).count() == 3


def test_the_database_refuses_a_second_booking_of_a_full_slot(passport):
    slot = first_slot(passport)
    first = services.book_appointment(appointment_type=passport, slot=slot, **RESIDENT)
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(booked=2)  # over capacity 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(
            organisation=first.organisation, slot=slot, seat=0, name="Autre",
            email="autre@example.org", email_key="autre@example.org",
            appointment_type=passport, starts_at=slot.start)
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(holds=1)  # booked and held at once


def test_the_agent_is_never_booked_twice_at_the_same_time_across_types(
        organisation, agent, counter, passport):
    civil = make_type(organisation, name="État civil", duration=30, counters=[counter],
                      agents=[agent])
    monday = next_weekday(0)
    services.generate_slots(appointment_type=civil, start=monday, end=monday)
    passport_nine, civil_nine = first_slot(passport), first_slot(civil)
    assert passport_nine.start == civil_nine.start
    booked = services.book_appointment(appointment_type=passport, slot=passport_nine,
                                       **RESIDENT)
    civil_nine.refresh_from_db()
    assert civil_nine.holds == 1
    assert civil_nine not in queries.next_free_slots(civil, limit=50)
    with pytest.raises(services.SlotTaken):
        services.book_appointment(appointment_type=civil, slot=civil_nine,
                                  name="Autre personne", email="autre@example.org",
                                  phone="0698765432")
    services.cancel_appointment(appointment=booked)
    civil_nine.refresh_from_db()
    assert civil_nine.holds == 0 and civil_nine in queries.next_free_slots(civil, limit=50)


def test_a_slot_in_the_past_is_refused(passport, agent, counter):
    past_start = timezone.now() - datetime.timedelta(hours=3)
    slot = Slot.objects.create(organisation=passport.organisation, appointment_type=passport,
                               counter=counter, agent=agent, start=past_start,
                               end=past_start + datetime.timedelta(minutes=20))
    with pytest.raises(services.BookingRefused, match="déjà passé"):
        services.book_appointment(appointment_type=passport, slot=slot, **RESIDENT)
    assert slot not in queries.next_free_slots(passport, limit=50)


def test_a_slot_within_the_minimal_notice_is_refused(passport, agent, counter):
    soon = timezone.now() + datetime.timedelta(minutes=30)
    slot = Slot.objects.create(organisation=passport.organisation, appointment_type=passport,
                               counter=counter, agent=agent, start=soon,
                               end=soon + datetime.timedelta(minutes=20))
    with pytest.raises(services.BookingRefused, match="au moins 2 h à l'avance"):
        services.book_appointment(appointment_type=passport, slot=slot, **RESIDENT)


def test_a_slot_beyond_the_window_is_refused(passport):
    far = timezone.localdate() + datetime.timedelta(days=passport.max_days_ahead + 10)
    services.generate_slots(appointment_type=passport, start=far, end=far)
    slot = Slot.objects.filter(appointment_type=passport).order_by("-start").first()
    with pytest.raises(services.BookingRefused, match="au plus 60 jours à l'avance"):
        services.book_appointment(appointment_type=passport, slot=slot, **RESIDENT)
    assert slot not in queries.next_free_slots(passport, limit=50)


def test_one_person_cannot_hoard_appointments(passport):
    first, second, third = Slot.objects.filter(appointment_type=passport).order_by("start")[:3]
    appointment = services.book_appointment(appointment_type=passport, slot=first, **RESIDENT)
    with pytest.raises(services.BookingRefused, match="déjà 1 rendez-vous"):
        services.book_appointment(appointment_type=passport, slot=second,
                                  **{**RESIDENT, "email": "CAMILLE@example.org"})
    with pytest.raises(services.BookingRefused, match="déjà 1 rendez-vous"):  # same phone
        services.book_appointment(appointment_type=passport, slot=second, name="C. Martin",
                                  email="autre.adresse@example.org", phone="+33612345678")
    second.refresh_from_db()
    assert second.booked == 0
    services.cancel_appointment(appointment=appointment)
    services.book_appointment(appointment_type=passport, slot=third, **RESIDENT)


def test_the_signed_link_cancels_and_a_tampered_one_is_refused(passport, other_organisation):
    slot = first_slot(passport)
    appointment = services.book_appointment(appointment_type=passport, slot=slot, **RESIDENT)
    token = services.manage_token(appointment)
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    for bad in (tampered, token.replace(":", "", 1), "", str(appointment.pk)):
        with pytest.raises(services.InvalidLink, match="lien n'est pas valide"):
            services.appointment_for_token(token=bad, organisation=passport.organisation)
    with pytest.raises(services.InvalidLink):
        services.appointment_for_token(token=token, organisation=other_organisation)
    found = services.appointment_for_token(token=token, organisation=passport.organisation)
    assert found == appointment
    services.cancel_appointment(appointment=found)
    slot.refresh_from_db()
    assert slot.booked == 0 and slot.is_free
    with pytest.raises(services.BookingRefused, match="déjà annulé"):
        services.cancel_appointment(appointment=found)
    # The seat is free for someone else.
    services.book_appointment(appointment_type=passport, slot=slot, name="Autre",
                              email="autre@example.org", phone="0698765432")


def test_moving_frees_the_old_slot_and_takes_the_new_one(passport):
    first, second = Slot.objects.filter(appointment_type=passport).order_by("start")[:2]
    appointment = services.book_appointment(appointment_type=passport, slot=first, **RESIDENT)
    other = services.book_appointment(appointment_type=passport, slot=second, name="Autre",
                                      email="autre@example.org", phone="0698765432")
    with pytest.raises(services.SlotTaken):
        services.move_appointment(appointment=appointment, slot=second)
    first.refresh_from_db()
    assert first.booked == 1  # still where it was
    services.cancel_appointment(appointment=other)
    services.move_appointment(appointment=appointment, slot=second)
    first.refresh_from_db()
    second.refresh_from_db()
    appointment.refresh_from_db()
    assert (first.booked, second.booked) == (0, 1)
    assert (appointment.slot_id, appointment.starts_at) == (second.pk, second.start)


def test_who_may_book_for_someone_else(passport, agent, resident, foreign_agent):
    with pytest.raises(PermissionDenied):
        services.book_appointment(appointment_type=passport, slot=first_slot(passport),
                                  actor=resident, **RESIDENT)
    with pytest.raises(PermissionDenied):
        services.book_appointment(appointment_type=passport, slot=first_slot(passport),
                                  actor=foreign_agent, **RESIDENT)
    by_phone = services.book_appointment(appointment_type=passport, slot=first_slot(passport),
                                         actor=agent, **RESIDENT)
    assert by_phone.booked_by == agent
    with pytest.raises(PermissionDenied):
        services.cancel_appointment(appointment=by_phone, actor=resident)


def test_blocking_a_slot_takes_it_out_of_the_offer(passport, agent, resident):
    slot = first_slot(passport)
    with pytest.raises(PermissionDenied):
        services.block_slot(actor=resident, slot=slot)
    services.block_slot(actor=agent, slot=slot)
    assert slot not in queries.next_free_slots(passport, limit=50)
    with pytest.raises(services.SlotTaken):
        services.book_appointment(appointment_type=passport, slot=slot, **RESIDENT)


def test_next_free_slots_in_order_from_a_moment_in_one_query(passport, django_assert_num_queries):
    tuesday = next_weekday(0) + datetime.timedelta(days=1)
    after = timezone.make_aware(datetime.datetime.combine(tuesday, datetime.time(14)))
    with django_assert_num_queries(1):
        slots = queries.next_free_slots(passport, after=after, limit=4)
        counters = {slot.counter.name for slot in slots}
    assert len(slots) == 4 and counters == {"Accueil de la mairie"}
    assert slots[0].start == after
    assert [s.start for s in slots] == sorted(s.start for s in slots)


def test_the_losers_of_a_slot_are_offered_the_first_next_one_and_others_spread(passport):
    """Everyone who lost the same slot sees its first free successor, then 4 drawn among the
    next 19: not the same 5 for all, which would be lost again together."""
    slots = list(Slot.objects.filter(appointment_type=passport).order_by("start", "pk"))
    wanted = slots[0]
    services.book_appointment(appointment_type=passport, slot=wanted, **RESIDENT)
    offers = []
    for n in range(20):
        with pytest.raises(services.SlotTaken) as refused:
            services.book_appointment(appointment_type=passport, slot=wanted,
                                      name=f"Perdant {n}", email=f"perdant{n}@example.org",
                                      phone=f"06987654{n:02d}")
        offers.append(refused.value.next_slots)
    pool = slots[1:21]
    for offer in offers:
        assert len(offer) == 5 and offer[0] == slots[1] and set(offer) <= set(pool)
        assert [slot.start for slot in offer] == sorted(slot.start for slot in offer)
    assert len({slot.pk for offer in offers for slot in offer}) > 5


def test_a_resident_whose_slot_went_gets_another_agents_at_the_same_time(
        organisation, agent, service, counter):
    """A resident chose 9:00 at the town hall, not an agent: the other agent's 9:00 is
    booked instead. The desk books the slot it chose, or is told it went."""
    from mairie.core.factories import agent_factory

    colleague = agent_factory(service=service, email="collegue@valmont.example")
    make_availability(agent, counter)
    make_availability(colleague, counter)
    passport = make_type(organisation, counters=[counter], agents=[agent, colleague])
    monday = next_weekday(0)
    services.generate_slots(appointment_type=passport, start=monday, end=monday)
    first, second = Slot.objects.filter(appointment_type=passport).order_by("start", "pk")[:2]
    assert (first.start, first.counter_id) == (second.start, second.counter_id)
    services.book_appointment(appointment_type=passport, slot=first, **RESIDENT)
    other = services.book_appointment(appointment_type=passport, slot=first,
                                      name="Léa Dubois", email="lea@example.org",
                                      phone="0698765432")
    assert other.slot == second and other.starts_at == first.start
    with pytest.raises(services.SlotTaken) as refused:
        services.book_appointment(appointment_type=passport, slot=first, name="Troisième",
                                  email="trois@example.org", phone="0698765433")
    assert all(slot.start > first.start for slot in refused.value.next_slots)
    desk_slot = Slot.objects.filter(appointment_type=passport, start__gt=first.start) \
        .order_by("start", "pk").first()
    services.book_appointment(appointment_type=passport, slot=desk_slot, name="Quatrième",
                              email="quatre@example.org", phone="0698765435")
    with pytest.raises(services.SlotTaken):
        services.desk_book(actor=agent, slot=desk_slot, name="Au guichet",
                           email="guichet@example.org", phone="0698765434",
                           channel=Appointment.Channel.COUNTER)


def test_another_organisation_sees_nothing_of_the_types(passport, other_organisation):
    from django.http import Http404

    assert list(queries.bookable_types(other_organisation)) == []
    with pytest.raises(Http404):
        queries.bookable_type(other_organisation, passport.pk)
    with pytest.raises(services.BookingRefused):
        other_type = make_type(other_organisation, counters=[], agents=[])
        services.book_appointment(appointment_type=other_type, slot=first_slot(passport),
                                  **RESIDENT)


@pytest.mark.django_db(transaction=True)
def test_a_rush_on_one_group_slot_books_exactly_its_capacity(organisation, agent, counter):
    make_availability(agent, counter)
    session = make_type(organisation, name="Réunion d'information", duration=60, capacity=3,
                        counters=[counter], agents=[agent])
    monday = next_weekday(0)
    services.generate_slots(appointment_type=session, start=monday, end=monday)
    # The plan's receivers also regenerated from today after each commit (the test is
    # transactional): take Monday's first slot, far enough ahead whatever the hour.
    slot = first_slot(session, on=monday)
    results: list[str] = []
    barrier = threading.Barrier(12)

    def attempt(n):
        try:
            barrier.wait()
            services.book_appointment(appointment_type=session, slot=slot, name=f"P{n}",
                                      email=f"p{n}@example.org", phone=f"06123456{n:02d}")
            results.append("booked")
        except services.SlotTaken:
            results.append("taken")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["booked"] * 3 + ["taken"] * 9
    slot.refresh_from_db()
    assert slot.booked == 3
    assert Appointment.objects.filter(slot=slot, status="booked").count() == 3
