"""The residents' pages: the types of the organisation, and a type's next free slots."""

import datetime

import pytest
from django.urls import reverse

from mairie.appointments import services
from mairie.appointments.models import Slot

from .plan import make_availability, make_counter, make_type, next_weekday


@pytest.fixture
def passport(organisation, agent):
    counter = make_counter(organisation, address="1 place de la Mairie")
    make_availability(agent, counter)
    appointment_type = make_type(organisation, counters=[counter], agents=[agent])
    monday = next_weekday(0)
    services.generate_slots(appointment_type=appointment_type, start=monday,
                            end=monday + datetime.timedelta(days=2))
    return appointment_type


def test_the_types_page_lists_the_organisations_types(client, passport, other_organisation):
    make_type(other_organisation, name="Rendez-vous d'ailleurs", counters=[], agents=[])
    page = client.get(reverse("appointments:types"))
    assert page.status_code == 200
    assert "Passeport et carte d" in page.text and "ailleurs" not in page.text


def test_the_free_slots_page_pages_forward_in_a_bounded_number_of_queries(
        client, passport, django_assert_max_num_queries):
    first = Slot.objects.filter(appointment_type=passport).order_by("start").first()
    services.book_appointment(appointment_type=passport, slot=first, name="Camille Martin",
                              email="camille@example.org", phone="0612345678")
    url = reverse("appointments:free-slots", args=[passport.pk])
    with django_assert_max_num_queries(8):
        page = client.get(url)
    assert page.status_code == 200
    assert page.text.count("<time ") == 20
    assert "09h00" not in page.text.split("<time ")[1]  # the booked 9:00 is not offered
    assert "09h20" in page.text and "1 place de la Mairie" in page.text
    assert "Créneaux suivants" in page.text
    later = client.get(url, {"a_partir_du": (next_weekday(0) + datetime.timedelta(days=2))
                             .isoformat()})
    assert later.text.count("<time ") == 18
    assert client.get(url, {"a_partir_du": "n'importe quoi"}).status_code == 200


def test_another_organisations_type_is_not_found(client, passport, other_organisation):
    other = make_type(other_organisation, counters=[], agents=[])
    assert client.get(reverse("appointments:free-slots", args=[other.pk])).status_code == 404
